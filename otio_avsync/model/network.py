"""The attention sync network: picture and sound towers, fusion, attention, decision head.

Shapes (B windows of N blocks of T frames; the fused map is H x W = tile/8 x 2*tile/8):

- picture tower: (B*N, 2, T, tile, 2*tile) -> (B*N, Cv, T, H, W), factorised
  (1x3x3 spatial then 3x1x1 temporal convolutions: cheap on a CPU);
- sound tower: (B, bands, L) -> (B, L, Ca) on the quarter-frame grid, computed
  once per window and indexed per candidate offset;
- fusion: the sound vector of each frame tiled over H x W, concatenated with the
  picture features, five convolutions -> (B*N, C, T, H, W);
- attention: ``none`` (plain average), ``temporal`` (one score per block,
  softmax over the N blocks) or ``spatio-temporal`` (one score per position of
  every block, softmax over all N*T*H*W of them);
- head: fully connected 512 -> 2 (out of sync, in sync).

The first fusion convolution is linear in the concatenation, so it is split into
a picture part (computed once per block) and a sound part (once per grid
point); an offset scan then pays only for the rest of the fusion and the head.

Speed on a CPU: the factorised 3D convolutions run as 2D convolutions (the
picture tower channels-last, where both kinds are views of one layout), and
:func:`fold_batch_norm` folds the towers' BatchNorms for inference. The
parameters are those of the plain nn.Conv3d model, so weights load either way.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from otio_avsync.model.config import ModelConfig
from otio_avsync.model.lips import MEASURES


def to_channels_last(x: torch.Tensor) -> torch.Tensor:
    """(B, C, T, H, W) -> (B, T, H, W, C) contiguous: free for views from from_channels_last."""
    return x.permute(0, 2, 3, 4, 1).contiguous()


def from_channels_last(p: torch.Tensor) -> torch.Tensor:
    """(B, T, H, W, C) -> a (B, C, T, H, W) view."""
    return p.permute(0, 4, 1, 2, 3)


class _Conv3d(nn.Conv3d):
    """A factorised Conv3d (spatial 1 x k x k or temporal k x 1 x 1) run as a 2D convolution.

    PyTorch's CPU conv3d is slow for these shapes. In the channels-last layout
    (B, T, H, W, C) the frames of a spatial kernel and the positions of a
    temporal kernel are both plain 2D convolution views of the same memory,
    so a tower runs without copies between layers, two to three times faster.
    Parameters and their names are those of nn.Conv3d, so weights load either way.
    """

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """(B, C, T, H, W) layout: only temporal kernels become 2D (on the (T, H*W) view).

        For the fusion's small maps this beats the channels-last form, whose
        GroupNorm is ten times slower than on contiguous tensors.
        """
        k = self.kernel_size
        if k[1:] != (1, 1) or self.stride != (1, 1, 1) or self.groups != 1:
            return super().forward(x)
        b, c, t, h, w = x.shape
        weight = self.weight.view(*self.weight.shape[:3], 1)
        y = F.conv2d(x.reshape(b, c, t, h * w), weight, self.bias, padding=(k[0] // 2, 0))
        return y.view(b, -1, t, h, w)

    def forward_cl(self, p: torch.Tensor) -> torch.Tensor:
        """(B, T, H, W, Cin) -> (B, T', H', W', Cout), both channels-last."""
        b, t, h, w, c = p.shape
        kt, kh, kw = self.kernel_size
        if self.groups != 1 or self.stride[0] != 1 or (kt > 1 and (kh, kw) != (1, 1)):
            return to_channels_last(super().forward(from_channels_last(p)))
        if kt == 1:  # spatial (or pointwise): the frames are the batch
            x = p.view(b * t, h, w, c).permute(0, 3, 1, 2)
            y = F.conv2d(
                x, self.weight[:, :, 0], self.bias, stride=self.stride[1:], padding=self.padding[1:]
            )
            return y.permute(0, 2, 3, 1).reshape(b, t, *y.shape[2:], y.shape[1])
        x = p.view(b, t, h * w, c).permute(0, 3, 1, 2)  # temporal: (B, C, T, H*W)
        y = F.conv2d(x, self.weight[..., 0], self.bias, padding=(kt // 2, 0))
        return y.permute(0, 2, 3, 1).reshape(b, y.shape[2], h, w, y.shape[1])


def _norm_cl(p: torch.Tensor, norm: nn.Module) -> torch.Tensor:
    """A BatchNorm3d (or its folded Identity) applied to a channels-last tensor."""
    c = p.shape[-1]
    if isinstance(norm, nn.Identity):  # folded into the convolution
        return p
    if isinstance(norm, nn.BatchNorm3d):  # per channel over everything else
        return norm(p.reshape(-1, c, 1, 1, 1)).view(p.shape)
    raise TypeError(f"no channels-last form for {type(norm).__name__}")


def _run_cl(layers: nn.Sequential, p: torch.Tensor) -> torch.Tensor:
    """Run (convolution, normalisation, ReLU) blocks of _conv3 on a channels-last tensor."""
    for conv, norm, _relu in layers:
        p = torch.relu_(_norm_cl(conv.forward_cl(p), norm))
    return p


def _conv3(
    cin: int, cout: int, kernel: tuple[int, int, int], stride=(1, 1, 1), *, per_sample: bool = False
) -> nn.Sequential:
    """Convolution, normalisation, ReLU.

    ``per_sample`` uses GroupNorm: the fusion layers see positives and negatives,
    and batch statistics there would let the head tell them apart by batch
    rather than by content (and behave differently at inference).
    """
    pad = tuple(k // 2 for k in kernel)
    norm = nn.GroupNorm(8, cout) if per_sample else nn.BatchNorm3d(cout)
    return nn.Sequential(
        _Conv3d(cin, cout, kernel, stride=stride, padding=pad, bias=False),
        norm,
        nn.ReLU(inplace=True),
    )


def prepare_video(tiles: torch.Tensor, tile: int) -> torch.Tensor:
    """prepare_video(uint8 (B, T, tile, 2*tile)) -> float (B, 2, T, tile, 2*tile)

    Each tile is standardised over the block (lighting and contrast do not
    matter); the second channel is the frame-to-frame change.
    """
    x = tiles.float()
    b, t, h, w = x.shape
    x = x.view(b, t, h, w // tile, tile)
    std, mean = torch.std_mean(x, dim=(1, 2, 4), keepdim=True)
    # Built channels-last, the picture tower's layout: the view returned costs nothing there.
    out = torch.empty(b, t, h, w, 2)
    out[..., 0] = ((x - mean) / (std + 4.0)).view(b, t, h, w)
    out[:, :1, ..., 1] = 0.0
    torch.sub(out[:, 1:, ..., 0], out[:, :-1, ..., 0], out=out[:, 1:, ..., 1])
    return from_channels_last(out)


class PictureTower(nn.Module):
    def __init__(self, cfg: ModelConfig) -> None:
        super().__init__()
        cv = cfg.video_channels
        self.layers = nn.Sequential(
            _conv3(2, 16, (1, 3, 3), (1, 2, 2)),
            _conv3(16, 32, (3, 1, 1)),
            _conv3(32, 32, (1, 3, 3), (1, 2, 2)),
            _conv3(32, cv, (3, 1, 1)),
            _conv3(cv, cv, (1, 3, 3), (1, 2, 2)),
            _conv3(cv, cv, (3, 1, 1)),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """(B, 2, T, H, W) -> (B, Cv, T, H/8, W/8), a view of a channels-last tensor."""
        return from_channels_last(_run_cl(self.layers, to_channels_last(x)))


def prepare_geometry(geometry: torch.Tensor) -> torch.Tensor:
    """prepare_geometry(float (B, T, G)) -> (B, G, T): lip measures about their block mean.

    What a face's lips look like at rest (their width, thickness) says nothing
    about sync; how they move within the block does. Velocities and the face
    flag pass as they are; frames without a face are zero.
    """
    nm = len(MEASURES)
    g = geometry.float()
    present = g[..., -1:]
    count = present.sum(dim=1, keepdim=True).clamp(min=1.0)
    mean = (g[..., :nm] * present).sum(dim=1, keepdim=True) / count
    centred = (g[..., :nm] - mean) * present
    return torch.cat([centred, g[..., nm:]], dim=-1).transpose(1, 2)


class GeometryTower(nn.Module):
    """Lip geometry over time -> one feature vector per frame, added to the picture map."""

    def __init__(self, cfg: ModelConfig) -> None:
        super().__init__()
        cv, g = cfg.video_channels, cfg.geometry

        def block(cin: int, cout: int, k: int, d: int) -> nn.Sequential:
            return nn.Sequential(
                nn.Conv1d(cin, cout, k, padding=d * (k // 2), dilation=d, bias=False),
                nn.BatchNorm1d(cout),
                nn.ReLU(inplace=True),
            )

        self.norm = nn.BatchNorm1d(g)
        self.layers = nn.Sequential(block(g, 64, 5, 1), block(64, 64, 3, 2), block(64, cv, 3, 1))

    def forward(self, geometry: torch.Tensor) -> torch.Tensor:
        """(B, T, G) -> (B, Cv, T)"""
        return self.layers(self.norm(prepare_geometry(geometry)))


class SoundTower(nn.Module):
    def __init__(self, cfg: ModelConfig) -> None:
        super().__init__()
        ca = cfg.audio_channels

        def block(cin: int, cout: int, k: int, d: int) -> nn.Sequential:
            return nn.Sequential(
                nn.Conv1d(cin, cout, k, padding=d * (k // 2), dilation=d, bias=False),
                nn.BatchNorm1d(cout),
                nn.ReLU(inplace=True),
            )

        self.layers = nn.Sequential(
            block(cfg.mel_bands, 64, 5, 1),
            block(64, 64, 5, 2),
            block(64, ca, 5, 4),
            block(ca, ca, 3, 1),
        )

    def forward(self, mel: torch.Tensor) -> torch.Tensor:
        """(B, L, bands) -> (B, L, Ca)"""
        return self.layers(mel.transpose(1, 2)).transpose(1, 2)


@dataclass
class Decision:
    """The network's output for a batch of windows at one offset each."""

    logits: torch.Tensor  # (B, 2)
    block_weights: torch.Tensor  # (B, N): temporal attention (uniform for none)
    spatial: torch.Tensor | None  # (B, N, T, H, W): spatio-temporal attention, else None


class AVSyncNet(nn.Module):
    """AVSyncNet(cfg) -- see the module docstring for the data flow."""

    def __init__(self, cfg: ModelConfig) -> None:
        super().__init__()
        self.cfg = cfg
        c, cv, ca = cfg.fused_channels, cfg.video_channels, cfg.audio_channels
        self.picture = PictureTower(cfg)
        self.geometry = GeometryTower(cfg) if cfg.geometry else None
        self.sound = SoundTower(cfg)
        self.picture_embed = nn.Linear(cv, cfg.embed_dim)
        self.sound_embed = nn.Linear(ca, cfg.embed_dim)
        self.logit_scale = nn.Parameter(torch.tensor(2.5))
        # Fusion: the first 1x1x1 convolution split into picture and sound parts.
        self.fuse_picture = _Conv3d(cv, 2 * c, 1)
        self.fuse_sound = nn.Linear(ca, 2 * c, bias=False)
        self.fuse_norm = nn.GroupNorm(8, 2 * c)
        self.fusion = nn.Sequential(
            _conv3(2 * c, c, (3, 1, 1), per_sample=True),
            _conv3(c, c, (1, 3, 3), per_sample=True),
            _conv3(c, c, (3, 1, 1), per_sample=True),
            _conv3(c, c, (1, 1, 1), per_sample=True),
        )
        self.score = _Conv3d(c, 1, 1)
        self.head = nn.Sequential(
            nn.Linear(c, cfg.head_hidden),
            nn.ReLU(inplace=True),
            nn.Dropout(0.2),
            nn.Linear(cfg.head_hidden, 2),
        )

    # -- towers -----------------------------------------------------------
    def encode_picture(
        self, tiles: torch.Tensor, geometry: torch.Tensor | None = None
    ) -> torch.Tensor:
        """encode_picture(uint8 (B, T, tile, 2*tile), geometry (B, T, G)) -> (B, Cv, T, H, W)

        A model with a geometry stream adds it to every position of the map;
        without geometry (no face) it reads zeros, as on frames without a face.
        """
        vfeat = self.picture(prepare_video(tiles, self.cfg.tile))
        if self.geometry is None:
            return vfeat
        if geometry is None:
            geometry = torch.zeros(*tiles.shape[:2], self.cfg.geometry)
        return vfeat + self.geometry(geometry)[:, :, :, None, None]

    def encode_sound(self, mel: torch.Tensor) -> torch.Tensor:
        """(B, L, bands) -> (B, L, Ca)"""
        return self.sound(mel)

    def embed_picture(self, vfeat: torch.Tensor) -> torch.Tensor:
        """(B, Cv, T, H, W) -> unit vectors (B, T, D), one per frame."""
        return F.normalize(self.picture_embed(vfeat.mean(dim=(3, 4)).transpose(1, 2)), dim=-1)

    def embed_sound(self, afeat: torch.Tensor) -> torch.Tensor:
        """(..., Ca) -> unit vectors (..., D)"""
        return F.normalize(self.sound_embed(afeat), dim=-1)

    # -- fusion, attention, head ---------------------------------------------
    def fuse(self, picture_part: torch.Tensor, sound_part: torch.Tensor) -> torch.Tensor:
        """fuse(picture_part (B, 2C, T, H, W), sound_part (B, T, 2C)) -> (B, C, T, H, W)"""
        return self.fuse_sum(picture_part + sound_part.transpose(1, 2)[:, :, :, None, None])

    def fuse_sum(self, x: torch.Tensor) -> torch.Tensor:
        """The fusion after its first (linear) layer: (B, 2C, T, H, W) -> (B, C, T, H, W)."""
        return self.fusion(F.relu(self.fuse_norm(x)))

    def decide(self, fused: torch.Tensor, blocks: int) -> Decision:
        """fused (B*N, C, T, H, W) -> Decision for B windows of ``blocks`` blocks."""
        bn, c, t, h, w = fused.shape
        b = bn // blocks
        x = fused.view(b, blocks, c, t, h, w)
        variant = self.cfg.variant
        if variant == "spatio-temporal":
            s = self.score(fused).view(b, blocks * t * h * w)
            a = torch.softmax(s, dim=1)
            pooled = torch.einsum("bp,bcp->bc", a, x.permute(0, 2, 1, 3, 4, 5).reshape(b, c, -1))
            a = a.view(b, blocks, t, h, w)
            return Decision(self.head(pooled), a.sum(dim=(2, 3, 4)), a)
        gap = x.mean(dim=(3, 4, 5))  # (B, N, C)
        if variant == "temporal":
            s = self.score(gap.reshape(b * blocks, c, 1, 1, 1)).view(b, blocks)
            a = torch.softmax(s, dim=1)
            return Decision(self.head((a[:, :, None] * gap).sum(dim=1)), a, None)
        a = torch.full((b, blocks), 1.0 / blocks, device=fused.device)
        return Decision(self.head(gap.mean(dim=1)), a, None)

    def forward(
        self,
        tiles: torch.Tensor,
        mel: torch.Tensor,
        index: torch.Tensor,
        geometry: torch.Tensor | None = None,
    ) -> Decision:
        """forward(tiles (B, N, T, th, tw) uint8, mel (B, L, bands), index (B, N, T)) -> Decision

        ``index[b, n, t]`` is the sound-grid point that frame t of block n is
        compared with: the offset under test is encoded there. ``geometry`` is
        (B, N, T, G) for models with a geometry stream.
        """
        geo = None if geometry is None else geometry.flatten(0, 1)
        vfeat = self.encode_picture(tiles.flatten(0, 1), geo)
        afeat = self.encode_sound(mel)
        return self.decide_at(vfeat, afeat, index)

    def decide_at(self, vfeat: torch.Tensor, afeat: torch.Tensor, index: torch.Tensor) -> Decision:
        """Picture features (B*N, Cv, T, H, W), sound features (B, L, Ca), index (B, N, T)."""
        b, n, t = index.shape
        sound = torch.gather(afeat, 1, index.reshape(b, n * t, 1).expand(-1, -1, afeat.shape[-1]))
        sound_part = self.fuse_sound(sound).view(b * n, t, -1)
        return self.decide(self.fuse(self.fuse_picture(vfeat), sound_part), n)


def fold_batch_norm(net: AVSyncNet) -> AVSyncNet:
    """fold_batch_norm(net) -> net, for inference only: each BatchNorm folded into its convolution.

    In eval mode a BatchNorm is a fixed per-channel affine map, so the
    convolution before it can absorb it; the towers then skip a pass over
    their largest tensors. Changes ``net`` in place; do not train it afterwards.
    """
    from torch.nn.utils.fusion import fuse_conv_bn_eval

    net.eval()
    for seq in net.modules():
        if not isinstance(seq, nn.Sequential):
            continue
        for i in range(len(seq) - 1):
            conv, bn = seq[i], seq[i + 1]
            if isinstance(conv, nn.Conv1d | nn.Conv3d) and isinstance(
                bn, nn.BatchNorm1d | nn.BatchNorm3d
            ):
                seq[i] = fuse_conv_bn_eval(conv, bn)
                seq[i + 1] = nn.Identity()
    return net
