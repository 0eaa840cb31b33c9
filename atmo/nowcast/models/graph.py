"""Part 3 of the Storm-Graph Transformer: graph attention over storm cells.

Cells of one sample are joined to their ``k`` nearest neighbours; graph attention (GATv2) lets each
cell attend to nearby cells, with the relative displacement as edge feature so that interaction can
depend on direction and distance (e.g. merging cells, outflow boundaries). Samples with different
numbers of cells are packed PyG-style: the valid nodes of the whole batch in one node list plus a
``batch`` vector; a sample without cells contributes no nodes.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn
from torch_geometric.nn import GATv2Conv

from atmo.nowcast.models.detector import StormCells

EDGE_DIM = 3  # relative (dx, dy) and distance, in units of the grid extent


def knn_graph(pos: torch.Tensor, k: int, batch: torch.Tensor) -> torch.Tensor:
    """Directed kNN edges ``(2, E)`` from ``pos (N, D)`` within each sample of ``batch (N,)``.

    Same result layout as ``torch_geometric.nn.knn_graph(pos, k, batch, loop=False)`` with the default
    ``flow="source_to_target"``: row 0 holds the neighbour (source), row 1 the centre node (target).
    That function needs ``pyg-lib`` or ``torch-cluster``, which are not installed; storm graphs have at
    most a few hundred nodes per batch, so a dense masked distance matrix is cheap and fully vectorised.
    A node with fewer than ``k`` other nodes in its sample is joined to all of them.
    """
    n_nodes = pos.shape[0]
    k_eff = min(k, n_nodes - 1)
    if k_eff <= 0:
        return torch.empty(2, 0, dtype=torch.long, device=pos.device)
    dist = torch.cdist(pos.detach().float(), pos.detach().float())
    foreign = batch[:, None] != batch[None, :]
    self_loop = torch.eye(n_nodes, dtype=torch.bool, device=pos.device)
    dist = dist.masked_fill(foreign | self_loop, float("inf"))
    nearest, neighbour = dist.topk(k_eff, dim=1, largest=False)
    centre = torch.arange(n_nodes, device=pos.device)[:, None].expand_as(neighbour)
    keep = torch.isfinite(nearest)
    return torch.stack([neighbour[keep], centre[keep]])


class StormGraphNetwork(nn.Module):
    """GATv2 layers over the kNN graph of storm cells: :class:`StormCells` -> node embeddings ``(B, N, hidden_dim)``.

    Each layer is residual with layer norm, so a cell without neighbours keeps (a transformed copy of)
    its own features. Invalid (padding) nodes come back as zeros.
    """

    def __init__(self, in_dim: int, hidden_dim: int, layers: int = 2, heads: int = 2, k_neighbors: int = 4) -> None:
        super().__init__()
        if hidden_dim % heads:
            raise ValueError(f"hidden_dim {hidden_dim} must be divisible by gnn heads {heads}")
        self.k_neighbors = k_neighbors
        self.embed = nn.Linear(in_dim, hidden_dim)
        self.convs = nn.ModuleList(
            GATv2Conv(hidden_dim, hidden_dim // heads, heads=heads, edge_dim=EDGE_DIM) for _ in range(layers)
        )
        self.norms = nn.ModuleList(nn.LayerNorm(hidden_dim) for _ in range(layers))

    def forward(self, cells: StormCells, extent_px: float) -> torch.Tensor:
        """``extent_px``: the grid size in pixels, which scales edge features to be grid-size independent."""
        batch_size, n_cells = cells.valid.shape
        sample, slot = cells.valid.nonzero(as_tuple=True)  # sample is the PyG batch vector
        nodes = self.embed(cells.features[sample, slot])
        pos = cells.xy_px[sample, slot]
        edge_index = knn_graph(pos, self.k_neighbors, sample)
        rel = (pos[edge_index[0]] - pos[edge_index[1]]) / extent_px
        edge_attr = torch.cat([rel, rel.norm(dim=-1, keepdim=True)], dim=-1)
        for conv, norm in zip(self.convs, self.norms, strict=True):
            nodes = norm(nodes + F.gelu(conv(nodes, edge_index, edge_attr)))
        padded = nodes.new_zeros(batch_size, n_cells, nodes.shape[-1])
        return padded.index_put((sample, slot), nodes)
