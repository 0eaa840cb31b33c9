"""kNN graph construction and the storm graph network on batches with 0, 1 and many cells."""

from __future__ import annotations

import torch

from atmo.nowcast.models.detector import StormCells
from atmo.nowcast.models.graph import StormGraphNetwork, knn_graph


def _brute_force_knn(pos: torch.Tensor, k: int, batch: torch.Tensor) -> set[tuple[int, int]]:
    edges = set()
    for centre in range(len(pos)):
        others = [j for j in range(len(pos)) if j != centre and batch[j] == batch[centre]]
        others.sort(key=lambda j: float((pos[j] - pos[centre]).norm()))
        edges |= {(j, centre) for j in others[:k]}
    return edges


def test_knn_graph_matches_brute_force_within_samples() -> None:
    pos = torch.rand(11, 2) * 50
    batch = torch.tensor([0, 0, 0, 0, 0, 1, 2, 2, 2, 2, 2])
    edge_index = knn_graph(pos, 3, batch)
    assert set(map(tuple, edge_index.t().tolist())) == _brute_force_knn(pos, 3, batch)
    assert torch.all(batch[edge_index[0]] == batch[edge_index[1]])


def test_knn_graph_degenerate_sizes() -> None:
    assert knn_graph(torch.zeros(0, 2), 4, torch.zeros(0, dtype=torch.long)).shape == (2, 0)
    assert knn_graph(torch.zeros(1, 2), 4, torch.zeros(1, dtype=torch.long)).shape == (2, 0)


def _cells(counts: list[int], n_slots: int = 6, feat_dim: int = 7) -> StormCells:
    valid = torch.arange(n_slots)[None, :] < torch.tensor(counts)[:, None]
    keep = valid[..., None].float()
    return StormCells(
        features=torch.randn(len(counts), n_slots, feat_dim) * keep,
        xy_px=torch.rand(len(counts), n_slots, 2) * 32 * keep,
        intensity=torch.rand(len(counts), n_slots) * valid,
        valid=valid,
    )


def test_network_handles_zero_one_and_many_cells() -> None:
    net = StormGraphNetwork(in_dim=7, hidden_dim=8, layers=2, heads=2, k_neighbors=3)
    cells = _cells([0, 1, 6])
    out = net(cells, extent_px=32.0)
    assert out.shape == (3, 6, 8)
    assert torch.isfinite(out).all()
    assert torch.all(out[~cells.valid] == 0)
    assert torch.all(out[cells.valid].abs().sum(dim=-1) > 0)


def test_network_on_an_empty_batch() -> None:
    out = StormGraphNetwork(in_dim=7, hidden_dim=8)(_cells([0, 0]), extent_px=32.0)
    assert out.shape == (2, 6, 8) and torch.all(out == 0)


def test_samples_do_not_interact() -> None:
    """Changing one sample's cells must leave the other sample's node embeddings untouched."""
    net = StormGraphNetwork(in_dim=7, hidden_dim=8).eval()
    cells = _cells([4, 5])
    before = net(cells, 32.0)
    cells.features[1, :5] += 1.0
    after = net(cells, 32.0)
    assert torch.allclose(before[0], after[0]) and not torch.allclose(before[1], after[1])


def test_neighbours_influence_a_cell() -> None:
    net = StormGraphNetwork(in_dim=7, hidden_dim=8, k_neighbors=2).eval()
    cells = _cells([3])
    before = net(cells, 32.0)
    cells.features[0, 1] += 1.0
    assert not torch.allclose(before[0, 0], net(cells, 32.0)[0, 0])
