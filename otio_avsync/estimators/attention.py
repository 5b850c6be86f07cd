"""The attention model as an estimator: scan candidate offsets, refine, calibrate, explain.

estimate(av) runs each tower once over the span, then:

1. **pre-scan**: the tower embeddings (trained contrastively) give a similarity
   for every candidate offset on the quarter-frame grid across the whole search
   range; this is the curve the reports draw;
2. **decision**: the fusion, attention and head score the best few pre-scan
   peaks and zero, climb whole frames to the best neighbour, then halve the
   step twice (half a frame, a quarter); each candidate costs a pass through the
   fusion, the scan's main cost, so about ten are scored. Within one frame of
   the head's choice the head score and the pre-scan similarity (which, unlike
   the head, was trained to rank neighbouring steps) vote, and a parabola
   through the vote gives sub-step precision;
3. **confidence**: scan evidence (head margin over rival peaks, agreement of
   windows, pre-scan peak height) mapped through the logistic calibration stored
   with the weights: the probability that the answer is within one frame;
4. **attention**: per-block weights and per-block spatial maps (whole frame |
   mouth tile) at the chosen offset, quantised for the clip metadata.
"""

from __future__ import annotations

import logging
import math
import time
from typing import Any

import numpy as np

from otio_avsync.estimators.base import AVInput, Estimate, parabolic_offset
from otio_avsync.model.frontend import (
    AUDIO_RATE,
    FRAME_WIDTH,
    PictureTiles,
    landmarks_available,
    picture_motion,
    picture_tiles,
    sound_features,
)
from otio_avsync.results import WindowResult

log = logging.getLogger(__name__)

#: Below this loudness (dBFS) throughout, the span counts as silent.
SILENCE_DB = -55.0
#: Below this mean change between frames (grey levels, 95th percentile) the picture is still.
STILL_MOTION = 0.4
EVIDENCE = ("margin", "top", "agree", "prescan_z", "log_blocks", "face")


class AttentionEstimator:
    """AttentionEstimator(weights=None, max_blocks=10, window_blocks=5, peaks=3, threads=1)

    ``weights`` defaults to the file shipped in the package for :attr:`variant`.
    """

    name = "attention"
    variant = "spatio-temporal"
    audio_rate = AUDIO_RATE
    frame_width = FRAME_WIDTH

    def __init__(
        self,
        weights: str | None = None,
        *,
        max_blocks: int = 10,
        window_blocks: int = 5,
        peaks: int = 3,
        threads: int | None = 1,
    ) -> None:
        from otio_avsync.model.network import fold_batch_norm
        from otio_avsync.model.weights import load_model

        #: Torch threads for a scan (None: leave torch's setting). The scan is many
        #: small operations, and waking a pool for each costs more than it saves:
        #: one thread measured a third faster than two in bench/bench_audit.py.
        self.threads = threads
        net, bundle = load_model(weights, self.variant)
        self.net = fold_batch_norm(net)
        self.cfg = self.net.cfg
        #: The mouth tracker: the one the weights were trained with, if it is installed.
        self.mouth = self.cfg.mouth
        if self.mouth == "landmarks" and not landmarks_available():
            self.mouth = "haar"
            log.warning(
                "MediaPipe is not installed: the attention model finds mouths with OpenCV's"
                " Haar cascade instead of the face mesh it was trained with, and is less"
                " accurate on talking faces (pip install --no-deps mediapipe==0.10.14)"
            )
        self.calibration: dict[str, Any] = dict(bundle.get("calibration") or {})
        self.max_blocks = max_blocks
        self.window_blocks = window_blocks
        self.peaks = peaks
        #: Cumulative seconds: picture front end (face tracking, tiles), sound features, network.
        self.timings = {"picture_s": 0.0, "sound_s": 0.0, "network_s": 0.0}

    # -- confidence ------------------------------------------------------------
    def confidence(self, evidence: dict[str, float]) -> float:
        """Probability of being within one frame, from the calibration (or a rough prior)."""
        cal = self.calibration
        if cal.get("coef"):
            z = cal["bias"] + sum(
                c * (evidence[k] - m) / s
                for k, c, m, s in zip(
                    cal["features"], cal["coef"], cal["mean"], cal["scale"], strict=True
                )
            )
        else:
            z = 1.5 * evidence["margin"] - 2.0
        return float(1.0 / (1.0 + math.exp(-max(-30.0, min(30.0, z)))))

    # -- the scan ----------------------------------------------------------------
    def estimate(self, av: AVInput, *, search_ms: float = 2000.0) -> Estimate:
        """estimate(av, search_ms=2000.0) -> Estimate"""
        if len(av.frames) < 8 or av.fps <= 0:
            return Estimate(None, 0.0, self.name, note="too short to analyse (fewer than 8 frames)")
        t0 = time.perf_counter()
        pt = picture_tiles(av.frames, self.cfg.tile, mouth=self.mouth)
        self.timings["picture_s"] += time.perf_counter() - t0
        return self.estimate_tiles(pt, av, search_ms=search_ms)

    def estimate_tiles(
        self, pt: PictureTiles, av: AVInput, *, search_ms: float = 2000.0
    ) -> Estimate:
        """estimate_tiles(tiles, av) -> Estimate, for pictures already through the front end.

        ``av.frames`` is not used; training and benchmarks pass cached tiles.
        """
        import torch

        before = torch.get_num_threads()
        if self.threads:
            torch.set_num_threads(self.threads)
        try:
            return self._scan(pt, av, search_ms)
        finally:
            torch.set_num_threads(before)

    def _scan(self, pt: PictureTiles, av: AVInput, search_ms: float) -> Estimate:
        import torch

        cfg, net = self.cfg, self.net
        steps = cfg.audio_steps_per_frame
        fps = float(av.fps)
        q = steps * fps
        if len(pt.tiles) < 8 or fps <= 0:
            return Estimate(None, 0.0, self.name, note="too short to analyse (fewer than 8 frames)")
        t0 = time.perf_counter()
        snd = sound_features(
            av.audio, av.rate, av.audio_start_s, fps, bands=cfg.mel_bands, steps=steps
        )
        self.timings["sound_s"] += time.perf_counter() - t0
        n = len(pt.tiles)
        t = min(cfg.block_frames, n)
        starts = np.arange(n // t) * t
        if len(starts) > self.max_blocks:
            starts = starts[
                np.unique(np.linspace(0, len(starts) - 1, self.max_blocks).round().astype(int))
            ]
        kidx = (starts[:, None] + np.arange(t)[None, :]).reshape(-1)
        origin, length = snd.origin, len(snd.mel)

        used = snd.level_db[max(0, origin) : origin + steps * n]
        if not len(used) or float(np.max(used)) < SILENCE_DB:
            return Estimate(None, 0.0, self.name, note="no sound to compare (silence)")
        motion = picture_motion(pt.tiles)
        if float(np.percentile(motion[1:], 95)) < STILL_MOTION:
            return Estimate(None, 0.0, self.name, note="no motion in the picture to compare")

        limit = math.floor(search_ms / 1000.0 * q + 1e-9)
        m_lo = max(-limit, -(origin + steps * int(kidx.min())))
        m_hi = min(limit, length - 1 - origin - steps * int(kidx.max()))
        if m_hi < m_lo:
            return Estimate(None, 0.0, self.name, note="not enough sound around the picture")

        t0 = time.perf_counter()
        with torch.inference_mode():
            tiles = torch.from_numpy(np.stack([pt.tiles[s : s + t] for s in starts]))
            vfeat = net.encode_picture(tiles)
            afeat = net.encode_sound(torch.from_numpy(snd.mel)[None])[0]
            v = net.embed_picture(vfeat).reshape(len(kidx), -1)
            e = net.embed_sound(afeat)
            ms = np.arange(m_lo, m_hi + 1)
            cols = origin + steps * kidx[:, None] + ms[None, :]
            sim = (v @ e.T).gather(1, torch.from_numpy(cols)).mean(0).numpy()
            picture_part = net.fuse_picture(vfeat)
            windows = np.array_split(
                np.arange(len(starts)), max(1, math.ceil(len(starts) / self.window_blocks))
            )
            scored: dict[int, np.ndarray] = {}
            # The fused maps of every scored candidate: the attention maps at the
            # chosen offset are read from them rather than fused again.
            fused_at: dict[int, torch.Tensor] = {}

            def score(cands: list[int]) -> None:
                todo = [m for m in dict.fromkeys(cands) if m_lo <= m <= m_hi and m not in scored]
                for chunk in range(0, len(todo), 8):
                    part = todo[chunk : chunk + 8]
                    idx = torch.from_numpy(origin + steps * kidx[None, :] + np.array(part)[:, None])
                    snd_part = net.fuse_sound(afeat[idx]).view(len(part), len(starts), t, -1)
                    # Broadcast the picture part over the candidates rather than copy it.
                    x = picture_part[None] + snd_part.transpose(2, 3)[..., None, None]
                    fused = net.fuse_sum(x.flatten(0, 1))
                    fused = fused.view(len(part), len(starts), *fused.shape[1:])
                    for j, m in enumerate(part):
                        scored[m] = np.zeros(len(windows))
                        fused_at[m] = fused[j]
                    for i, w in enumerate(windows):
                        logits = net.decide(fused[:, w].flatten(0, 1), len(w)).logits
                        for m, d in zip(part, (logits[:, 1] - logits[:, 0]).numpy(), strict=True):
                            scored[m][i] = d

            from scipy.signal import find_peaks

            found, _ = find_peaks(np.concatenate([[-np.inf], sim, [-np.inf]]), distance=3 * steps)
            found = found - 1
            top = found[np.argsort(-sim[found])][: self.peaks] + m_lo
            # The head first judges the pre-scan's peaks and zero, then climbs whole
            # frames until neither neighbour is better. Each candidate costs a pass
            # through the fusion, which dominates the scan's cost.
            cands = [int(p) for p in top]
            if all(abs(p) >= steps for p in cands):  # else the climb reaches zero anyway
                cands.append(0)
            score(cands)
            best = max(scored, key=lambda m: scored[m].mean())
            for _ in range(3):
                score([best - steps, best + steps])
                climbed = max(scored, key=lambda m: scored[m].mean())
                if climbed == best:
                    break
                best = climbed
            # Then halve the step twice around the winner: half a frame, a quarter.
            for d in (steps // 2, 1):
                score([best - d, best + d])
                best = max(scored, key=lambda m: scored[m].mean())
            mean = {m: float(s.mean()) for m, s in scored.items()}
            # The head is trained only against shifts of two frames or more, so it
            # hardly tells neighbouring quarter steps apart; the tower embeddings can
            # (their contrastive loss ranks every shift). Within one frame of the
            # head's choice both vote, each in units of its own spread.
            head_sd = float(np.std(list(mean.values()))) + 1e-6
            sim_sd = float(np.std(sim)) + 1e-6

            def vote(m: int) -> float:
                return mean[m] / head_sd + 0.5 * float(sim[m - m_lo]) / sim_sd

            near = [m for m in range(best - steps, best + steps + 1) if m in mean]
            m_fine = max(near, key=vote)
            delta = 0.0
            if m_fine - 1 in mean and m_fine + 1 in mean:
                delta = parabolic_offset(np.array([vote(m_fine + d) for d in (-1, 0, 1)]), 1)
            m_hat = m_fine + delta
            offset_ms = m_hat / q * 1000.0

            rivals = [mean[m] for m in mean if abs(m - best) >= 3 * steps]
            per_window_best = [
                max(scored, key=lambda m, i=i: scored[m][i]) for i in range(len(windows))
            ]
            mad = float(np.median(np.abs(sim - np.median(sim)))) * 1.4826 + 1e-6
            evidence = {
                "margin": mean[best] - (max(rivals) if rivals else min(mean.values())),
                "top": mean[best],
                "agree": float(np.mean([abs(m - best) <= steps for m in per_window_best])),
                "prescan_z": float((sim[m_fine - m_lo] - np.median(sim)) / mad),
                "log_blocks": math.log(len(starts)),
                "face": pt.face_fraction,
            }
            confidence = self.confidence(evidence)
            attention = self._attention(fused_at[m_fine], windows, starts, t, av, pt)

        self.timings["network_s"] += time.perf_counter() - t0
        times = (
            av.frame_times
            if len(av.frame_times) == len(pt.tiles)
            else np.arange(len(pt.tiles)) / fps
        )
        win_results = []
        for i, w in enumerate(windows):
            s0 = float(times[starts[w[0]]])
            s1 = float(times[min(len(times) - 1, starts[w[-1]] + t - 1)]) + 1.0 / fps
            mw = per_window_best[i]
            others = [scored[m][i] for m in scored if abs(m - mw) >= 3 * steps]
            margin = scored[mw][i] - (max(others) if others else 0.0)
            win_results.append(
                WindowResult(s0, s1 - s0, mw / q * 1000.0, float(1 / (1 + math.exp(-margin))), 1.0)
            )
        frame_steps = ms % steps == 0
        return Estimate(
            offset_ms=float(offset_ms),
            confidence=confidence,
            method=self.name,
            windows=win_results,
            curve_ms=ms[frame_steps] / q * 1000.0,
            curve_score=sim[frame_steps].astype(float),
            at_search_edge=bool(min(m_hat - m_lo, m_hi - m_hat) < steps / 2),
            note="" if confidence >= 0.5 else "the picture and sound evidence is weak or ambiguous",
            attention=attention,
            evidence=evidence,
        )

    def _attention(self, fused, windows, starts, t, av, pt) -> dict[str, Any]:
        """Block weights and spatial maps from the fused maps at the chosen offset, quantised."""
        net = self.net
        h, w = self.cfg.map_shape
        blocks = []
        for win in windows:
            d = net.decide(fused[win], len(win))
            weights = d.block_weights[0].numpy() * len(win) / len(starts)
            maps = d.spatial[0].sum(dim=1).numpy() if d.spatial is not None else None
            for j, b in enumerate(win):
                k0 = int(starts[b])
                box = pt.mouth_boxes[k0 : k0 + t]
                box = box[~np.isnan(box[:, 0])]
                entry: dict[str, Any] = {
                    "start_s": round(k0 / float(av.fps), 4),
                    "frames": t,
                    "weight": round(float(weights[j]), 4),
                    "mouth_box": [round(float(x), 3) for x in np.median(box, axis=0)]
                    if len(box)
                    else None,
                }
                if maps is not None:
                    m = maps[j]
                    entry["map"] = (
                        (np.clip(m / (m.max() + 1e-12), 0, 1) * 255)
                        .round()
                        .astype(np.uint8)
                        .tobytes()
                        .hex()
                    )
                blocks.append(entry)
        return {
            "variant": self.cfg.variant,
            "map_shape": [h, w],
            "tiles": ["frame", "mouth"],
            "blocks": blocks,
        }


class TemporalAttentionEstimator(AttentionEstimator):
    """The temporal-attention variant (one weight per block, no spatial map)."""

    name = "attention-temporal"
    variant = "temporal"


class PlainAverageEstimator(AttentionEstimator):
    """The control: the same network with a plain average instead of attention."""

    name = "attention-none"
    variant = "none"
