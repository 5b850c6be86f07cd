"""Self-supervised training: aligned picture and sound positive, foreign or shifted sound negative.

``otio-avsync train --config FILE --seed N --out weights.pt`` runs
:func:`train`. One step draws ``batch_windows`` windows of ``window_blocks``
blocks; each window gives one positive (its own sound) and ``negatives``
negatives: sound from another clip (easy) or its own sound shifted by
``hard_min_frames``..``hard_max_frames`` frames (hard). The curriculum uses easy
negatives only for the first ``easy_only_fraction`` of the steps, then
``hard_fraction`` hard ones. Alongside the decision head's cross-entropy, an
InfoNCE loss over shifts of +-``contrastive_shift_frames`` frames trains the
tower embeddings that the offset scan uses to shortlist candidates.
"""

from __future__ import annotations

import dataclasses
import math
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F

from otio_avsync.model.config import TrainConfig
from otio_avsync.model.corpus import Clip
from otio_avsync.model.frontend import AUDIO_RATE, sound_features
from otio_avsync.model.network import AVSyncNet


@dataclass
class Batch:
    tiles: torch.Tensor  # (B, N, T, th, tw) uint8
    mel: torch.Tensor  # (B, L, bands) the window's own sound
    foreign: torch.Tensor  # (B, L, bands) sound of another clip
    origin: int  # sound-grid index of the window's first frame
    geometry: torch.Tensor | None = None  # (B, N, T, G) lip geometry


class WindowSampler:
    """Draws training windows from data pools with the configured weights."""

    def __init__(self, clips: list[Clip], cfg: TrainConfig, seed: int) -> None:
        self.cfg = cfg
        self.rng = np.random.default_rng(seed)
        m = cfg.model
        self.frames = cfg.window_blocks * m.block_frames
        self.margin = cfg.hard_max_frames + 6
        self.pools: dict[str, list[Clip]] = {}
        for c in clips:
            if len(c.tiles) >= self.frames:
                self.pools.setdefault(c.pool, []).append(c)
        names = [p for p in cfg.pool_weights if p in self.pools]
        if not names:
            raise ValueError("no training clips long enough for one window")
        w = np.array([cfg.pool_weights[p] for p in names], float)
        self.pool_names, self.pool_p = names, w / w.sum()
        self.all = [c for p in names for c in self.pools[p]]

    def _clip(self) -> Clip:
        pool = self.pools[self.rng.choice(self.pool_names, p=self.pool_p)]
        dur = np.array([len(c.tiles) for c in pool], float)
        return pool[self.rng.choice(len(pool), p=dur / dur.sum())]

    def _audio(self, clip: Clip, f0: int, fps: float) -> np.ndarray:
        """Sound of ``clip`` for frames f0-margin .. f0+frames+margin on the grid of ``fps``."""
        n = round((self.frames + 2 * self.margin) / fps * AUDIO_RATE)
        a0 = round((f0 - self.margin) / fps * AUDIO_RATE)
        out = np.zeros(n, np.float32)
        lo, hi = max(0, a0), min(len(clip.audio), a0 + n)
        if hi > lo:
            out[lo - a0 : hi - a0] = clip.audio[lo:hi]
        return out

    def _mel(self, audio: np.ndarray, fps: float) -> tuple[np.ndarray, int]:
        m = self.cfg.model
        sf = sound_features(
            audio,
            AUDIO_RATE,
            -self.margin / fps,
            fps,
            bands=m.mel_bands,
            steps=m.audio_steps_per_frame,
        )
        length = (self.frames + 2 * self.margin) * m.audio_steps_per_frame
        mel = sf.mel[:length]
        if len(mel) < length:
            mel = np.pad(mel, ((0, length - len(mel)), (0, 0)))
        return mel, sf.origin

    def batch(self) -> Batch:
        from otio_avsync.model import augment

        tiles, mels, foreign, geos = [], [], [], []
        origin = self.margin * self.cfg.model.audio_steps_per_frame
        tile = self.cfg.model.tile
        p = self.cfg.augment
        while len(tiles) < self.cfg.batch_windows:
            clip = self._clip()
            f0 = int(self.rng.integers(0, len(clip.tiles) - self.frames + 1))
            audio = self._audio(clip, f0, clip.fps)
            core = audio[
                round(self.margin / clip.fps * AUDIO_RATE) : -round(
                    self.margin / clip.fps * AUDIO_RATE
                )
            ]
            if not len(core) or float(np.sqrt(np.mean(core**2))) < 3e-3:
                continue  # silence proves nothing either way
            if self.rng.random() < 0.3:  # background sound from elsewhere
                other = self.all[int(self.rng.integers(len(self.all)))]
                bg = self._audio(
                    other,
                    int(self.rng.integers(0, max(1, len(other.tiles) - self.frames))),
                    clip.fps,
                )
                gain = 10 ** (self.rng.uniform(-24, -8) / 20) * (
                    np.std(audio) / (np.std(bg) + 1e-6)
                )
                audio = audio + gain * bg
            other = clip
            while other is clip and len(self.all) > 1:
                other = self.all[int(self.rng.integers(len(self.all)))]
            g0 = int(self.rng.integers(0, max(1, len(other.tiles) - self.frames)))
            far = self._audio(other, g0, clip.fps)
            if p:
                audio = augment.sound(audio, AUDIO_RATE, self.rng, p)
                far = augment.sound(far, AUDIO_RATE, self.rng, p)
            mel, got = self._mel(audio, clip.fps)
            fmel, _ = self._mel(far, clip.fps)
            if got != origin:  # rounding at the grid edge; rare
                continue
            t = clip.tiles[f0 : f0 + self.frames]
            if self.rng.random() < 0.5:  # mirror each tile
                t = np.concatenate([t[:, :, :tile][:, :, ::-1], t[:, :, tile:][:, :, ::-1]], axis=2)
            if p:
                t = augment.picture(t, tile, self.rng, p)
            tiles.append(np.ascontiguousarray(t))
            mels.append(mel)
            foreign.append(fmel)
            if self.cfg.model.geometry:
                g = clip.geometry
                g = (
                    np.zeros((self.frames, self.cfg.model.geometry), np.float32)
                    if g is None
                    else g[f0 : f0 + self.frames]
                )
                geos.append(augment.geometry(g, self.rng, p) if p else g)
        m = self.cfg.model
        b = len(tiles)
        shape = (b, self.cfg.window_blocks, m.block_frames)
        return Batch(
            tiles=torch.from_numpy(np.stack(tiles)).view(*shape, tile, 2 * tile),
            mel=torch.from_numpy(np.stack(mels)),
            foreign=torch.from_numpy(np.stack(foreign)),
            origin=origin,
            geometry=torch.from_numpy(np.stack(geos)).view(*shape, -1) if geos else None,
        )


def _index(b: int, n: int, t: int, steps: int, origin: int, shift: torch.Tensor) -> torch.Tensor:
    """Sound-grid indices (B, N, T) for a per-window shift in grid steps (B,)."""
    frames = torch.arange(n * t).view(1, n, t)
    return origin + steps * frames + shift.view(b, 1, 1)


def losses(
    net: AVSyncNet, batch: Batch, cfg: TrainConfig, hard_p: float, rng: np.random.Generator
) -> dict[str, torch.Tensor]:
    """Head cross-entropy (positives vs easy/hard negatives) and the embedding loss."""
    m = cfg.model
    b, n, t = batch.tiles.shape[:3]
    steps = m.audio_steps_per_frame
    geo = None if batch.geometry is None else batch.geometry.flatten(0, 1)
    vfeat = net.encode_picture(batch.tiles.flatten(0, 1), geo)
    afeat = net.encode_sound(torch.cat([batch.mel, batch.foreign]))
    own, other = afeat[:b], afeat[b:]
    zero = torch.zeros(b, dtype=torch.long)

    # One fused batch: the positive and every negative of each window side by side.
    feats, shifts, labels = [own], [zero], [torch.ones(b, dtype=torch.long)]
    for _ in range(cfg.negatives):
        hard = torch.from_numpy(rng.random(b) < hard_p)
        mag = rng.integers(cfg.hard_min_frames * steps, cfg.hard_max_frames * steps + 1, size=b)
        near = rng.random(b) < cfg.near_fraction  # exactly one or two frames off
        mag = np.where(near, rng.integers(1, 3, size=b) * steps, mag)
        shifts.append(torch.from_numpy(mag * rng.choice([-1, 1], size=b)) * hard)
        feats.append(torch.where(hard.view(b, 1, 1), own, other))
        labels.append(torch.zeros(b, dtype=torch.long))
    k = len(feats)
    index = _index(k * b, n, t, steps, batch.origin, torch.cat(shifts))
    vrep = vfeat.repeat(k, 1, 1, 1, 1)
    logit = net.decide_at(vrep, torch.cat(feats), index).logits
    label = torch.cat(labels)
    weight = torch.where(label == 1, float(cfg.negatives), 1.0)
    head = (F.cross_entropy(logit, label, reduction="none") * weight).sum() / weight.sum()

    # InfoNCE over shifts of whole frames: the true alignment against its neighbours.
    v = net.embed_picture(vfeat).view(b, n * t, -1)
    e = net.embed_sound(own)
    s = cfg.contrastive_shift_frames
    shifts = torch.arange(-s, s + 1) * steps
    idx = batch.origin + steps * torch.arange(n * t).view(1, -1, 1) + shifts.view(1, 1, -1)
    idx = idx.expand(b, -1, -1)
    snd = torch.gather(e, 1, idx.reshape(b, -1, 1).expand(-1, -1, e.shape[-1])).view(
        b, n * t, 2 * s + 1, -1
    )
    sim = torch.einsum("bfd,bfsd->bfs", v, snd).view(b, n, t, 2 * s + 1).mean(dim=2)  # per block
    scale = net.logit_scale.clamp(max=4.6).exp()
    target = torch.full((b * n,), s, dtype=torch.long)
    if cfg.contrastive == "margin":
        # Squared distance of the (unit) embeddings: the true shift near, shifts of at
        # least hard_min_frames beyond the margin.
        dist2 = (2 - 2 * sim).clamp(min=0).view(b * n, -1)
        far = (torch.arange(-s, s + 1).abs() >= cfg.hard_min_frames).view(1, -1)
        pos = dist2[:, s].mean()
        neg = F.relu(cfg.contrastive_margin - dist2.sqrt()).pow(2)
        nce = pos + (neg * far).sum() / (far.sum() * dist2.shape[0])
    elif cfg.contrastive == "infonce":
        nce = F.cross_entropy((scale * sim).view(b * n, -1), target)
    else:
        nce = torch.zeros(())
    acc = (logit.argmax(1) == label).float().mean()
    nce_acc = (sim.view(b * n, -1).argmax(1) == s).float().mean()
    return {
        "loss": head + cfg.contrastive_weight * nce,
        "head": head,
        "nce": nce,
        "acc": acc,
        "nce_acc": nce_acc,
    }


def train(
    cfg: TrainConfig,
    clips: list[Clip],
    *,
    log: Callable[[str], None] = print,
    checkpoint: Path | None = None,
) -> tuple[AVSyncNet, dict[str, Any]]:
    """train(cfg, clips) -> (network, training record); reproducible for a seed on one machine."""
    torch.manual_seed(cfg.seed)
    torch.set_num_threads(cfg.threads)
    rng = np.random.default_rng(cfg.seed)
    sampler = WindowSampler([c for c in clips if c.split == "train"], cfg, cfg.seed + 1)
    net = AVSyncNet(cfg.model)
    opt = torch.optim.AdamW(net.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay)
    warm = max(1, cfg.steps // 30)

    def lr_at(step: int) -> float:
        if step < warm:
            return (step + 1) / warm
        return 0.5 * (1 + math.cos(math.pi * (step - warm) / max(1, cfg.steps - warm)))

    sched = torch.optim.lr_scheduler.LambdaLR(opt, lr_at)
    t0 = time.perf_counter()
    running: dict[str, float] = {}
    history = []
    net.train()
    for step in range(cfg.steps):
        hard_p = 0.0 if step < cfg.easy_only_fraction * cfg.steps else cfg.hard_fraction
        batch = sampler.batch()
        out = losses(net, batch, cfg, hard_p, rng)
        opt.zero_grad()
        out["loss"].backward()
        torch.nn.utils.clip_grad_norm_(net.parameters(), 5.0)
        opt.step()
        sched.step()
        for k, v in out.items():
            running[k] = running.get(k, 0.0) + float(v.detach())
        if (step + 1) % 50 == 0 or step + 1 == cfg.steps:
            avg = {k: v / 50 for k, v in running.items()}
            running = {}
            history.append({"step": step + 1, **{k: round(v, 4) for k, v in avg.items()}})
            log(
                f"step {step + 1}/{cfg.steps}  loss {avg['loss']:.3f}"
                f"  head {avg['head']:.3f} acc {avg['acc']:.2f}"
                f"  nce {avg['nce']:.3f} acc {avg['nce_acc']:.2f}"
                f"  hard {hard_p:.2f}  {time.perf_counter() - t0:.0f} s"
            )
            if checkpoint is not None:
                torch.save({"state_dict": net.state_dict(), "step": step + 1}, checkpoint)
    net.eval()
    record = {
        "steps": cfg.steps,
        "seconds": round(time.perf_counter() - t0, 1),
        "history": history,
        "train_clips": {p: len(v) for p, v in sampler.pools.items()},
        "train_seconds": {
            p: round(sum(c.duration_s for c in v), 1) for p, v in sampler.pools.items()
        },
    }
    return net, record


def run_training(
    cfg: TrainConfig,
    out: Path,
    *,
    media_dir: Path | None,
    cache: Path,
    clips_dir: Path | None = None,
    log: Callable[[str], None] = print,
) -> dict[str, Any]:
    """run_training(cfg, out, media_dir=..., cache=..., clips_dir=...) -> summary

    Trains on the ``train`` split plus generated clips, then fits the confidence
    calibration on the ``calibration`` split plus fresh generated clips, and
    writes the weights to ``out``. ``clips_dir`` is a folder laid out by
    ``../shared/data/extract.py`` (GRID and the other sources of ``sources.json``).
    """
    from otio_avsync.model.corpus import folder_clips, real_clips, synthetic_clips
    from otio_avsync.model.weights import save_bundle

    clips: list[Clip] = []
    if media_dir is not None:
        log(f"decoding real clips from {media_dir} (cached in {cache})")
        clips += real_clips(media_dir, cache, splits=("train", "calib"), **_front_end(cfg))
    else:
        log("no shared media folder: training on generated clips only")
    if clips_dir is not None:
        log(f"decoding the clips of {clips_dir}")
        clips += folder_clips(clips_dir, cache, splits=("train", "calib"), **_front_end(cfg))
    log(f"generating {cfg.synthetic_clips} synthetic clips")
    clips += synthetic_clips(cache, cfg.synthetic_clips, seed=cfg.seed, **_front_end(cfg))
    net, record = train(cfg, clips, log=log, checkpoint=out.with_name(out.name + ".ckpt"))
    save_bundle(out, net, train=cfg.to_dict(), record=record, calibration=None)
    calib = _calibration_clips(clips) + _calibration_synthetic(cfg, cache)
    calibration = calibrate(out, calib, cfg, log=log)
    out.with_name(out.name + ".ckpt").unlink(missing_ok=True)
    return {"record": record, "calibration": calibration}


def _front_end(cfg: TrainConfig) -> dict[str, Any]:
    """The corpus arguments that make clips look as the model sees them."""
    return {"tile": cfg.model.tile, "mouth": cfg.model.mouth, "geometry": bool(cfg.model.geometry)}


#: At most this many calibration clips per source (evenly spread over its clips by name).
CALIBRATION_PER_SOURCE = 12


def _calibration_clips(clips: list[Clip]) -> list[Clip]:
    """The calibration split, less the clips whose own sync is off (model/validation.py).

    No source outweighs the others: the calibration's GRID sentences are the
    training speaker's, on whom the network is surest, and 59 of them would
    teach the confidence what that speaker looks like rather than faces at large.
    """
    from otio_avsync.model.validation import dropped_clips

    dropped = dropped_clips()
    kept = [c for c in clips if c.split == "calib" and c.name not in dropped]
    by_source: dict[str, list[Clip]] = {}
    for c in sorted(kept, key=lambda c: c.name):
        by_source.setdefault(c.source, []).append(c)
    out = []
    for group in by_source.values():
        step = max(1.0, len(group) / CALIBRATION_PER_SOURCE)
        out += [group[int(i * step)] for i in range(min(len(group), CALIBRATION_PER_SOURCE))]
    return out


#: Calibration's own generated clips: this many, with the recipe's seed plus the shift.
CALIBRATION_SYNTHETIC_CLIPS = 8
CALIBRATION_SEED_SHIFT = 100


def _calibration_synthetic(cfg: TrainConfig, cache: Path) -> list[Clip]:
    from otio_avsync.model.corpus import synthetic_clips

    syn = synthetic_clips(
        cache,
        CALIBRATION_SYNTHETIC_CLIPS,
        seed=cfg.seed + CALIBRATION_SEED_SHIFT,
        **_front_end(cfg),
    )
    return [dataclasses.replace(c, split="calib") for c in syn]


def recalibrate(
    weights: Path,
    *,
    media_dir: Path | None,
    cache: Path,
    clips_dir: Path | None = None,
    log: Callable[[str], None] = print,
) -> dict[str, Any]:
    """recalibrate(weights, media_dir=..., cache=...) -> calibration; rewrites ``weights``.

    Fits the confidence again on the same calibration split as training did,
    for when the offset scan changes but the network does not.
    """
    from otio_avsync.model.corpus import folder_clips, real_clips
    from otio_avsync.model.weights import load_bundle, model_config

    bundle = load_bundle(weights)
    cfg = TrainConfig.from_dict(bundle["train"]) if bundle.get("train") else TrainConfig()
    cfg = dataclasses.replace(cfg, model=model_config(bundle))
    clips: list[Clip] = []
    if media_dir is not None:
        clips += real_clips(media_dir, cache, splits=("calib",), **_front_end(cfg))
    if clips_dir is not None:
        clips += folder_clips(clips_dir, cache, splits=("calib",), **_front_end(cfg))
    clips = _calibration_clips(clips) + _calibration_synthetic(cfg, cache)
    return calibrate(weights, clips, cfg, log=log)


def calibrate(
    weights: Path, clips: list[Clip], cfg: TrainConfig, *, log: Callable[[str], None] = print
) -> dict[str, Any]:
    """calibrate(weights, clips, cfg) -> the calibration; rewrites ``weights`` with it.

    Runs the offset scan on ``clips`` with ``cfg.calibration_offsets`` injected
    offsets each and fits the mapping from the scan's evidence to the probability
    of being within one frame.
    """
    import torch

    from otio_avsync.model.evaluate import fit_calibration, run_cases, summarise
    from otio_avsync.model.scan import EVIDENCE, OffsetScan
    from otio_avsync.model.weights import load_model, save_bundle

    est = OffsetScan(weights=str(weights))
    log(f"calibrating on {len(clips)} clips x {cfg.calibration_offsets} offsets")
    cases = run_cases(
        est, clips, cfg.calibration_offsets, seed=cfg.seed + 7, min_s=cfg.calibration_min_s
    )
    calibration = fit_calibration(cases, EVIDENCE)
    est.calibration = calibration
    for c in cases:
        # Cases the scan declined (silence, a still picture) have no evidence: they stay 0.
        if c.evidence:
            c.confidence = est.confidence(c.evidence)
    calibration["summary"] = {k: round(v, 4) for k, v in summarise(cases).items()}
    # The estimator's network has its BatchNorms folded for speed; save the trainable form.
    net, bundle = load_model(weights)
    record = dict(bundle.get("record") or {})
    record["calibration_split"] = sorted({c.clip for c in cases})
    with torch.no_grad():
        save_bundle(
            weights,
            net,
            train=bundle.get("train") or cfg.to_dict(),
            record=record,
            calibration=calibration,
        )
    log(f"calibration (in-sample): {calibration['summary']}")
    return calibration
