"""The attention model's offset scan: candidates scored, refined, calibrated, explained.

:meth:`OffsetScan.estimate_tiles` runs each tower once over the span, then:

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

The scan lives with the model, below the estimators: the estimator
(:mod:`otio_avsync.estimators.attention`) adds the picture front end, and the
calibration in :mod:`otio_avsync.model.train` runs the scan on cached tiles.
Offsets here are in steps of the sound grid (``audio_steps_per_frame`` per frame).
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from otio_avsync.model.frontend import PictureTiles, SoundFeatures, picture_motion, sound_features
from otio_avsync.results import WindowResult
from otio_avsync.spans import AVInput, Estimate, parabolic_offset

#: Below this loudness (dBFS) throughout, the span counts as silent.
SILENCE_DB = -55.0
#: Below this mean change between frames (grey levels, 95th percentile) the picture is still.
STILL_MOTION = 0.4
#: The scan's evidence, in the order the calibration's coefficients follow.
EVIDENCE = ("margin", "top", "agree", "prescan_z", "log_blocks", "face")


@dataclass
class ScanLayout:
    """Where a scan looks: the blocks it reads and the offsets it may try."""

    steps: int  # sound-grid steps per frame
    fps: float
    t: int  # frames per block
    starts: np.ndarray  # first frame of each block read
    kidx: np.ndarray  # every frame read, block by block
    origin: int  # sound-grid index of the picture's first frame
    m_lo: int  # the lowest and highest candidate offset, in steps
    m_hi: int

    @property
    def per_second(self) -> float:
        """Sound-grid steps per second."""
        return self.steps * self.fps

    @property
    def offsets(self) -> np.ndarray:
        """Every candidate offset of the pre-scan, in steps."""
        return np.arange(self.m_lo, self.m_hi + 1)


@dataclass
class CandidateScores:
    """The head's score, per window, of every candidate offset scored so far.

    Each candidate costs a pass through the fusion, which dominates the scan's
    cost, so candidates are scored once, in batches of eight, and kept in the
    order they were first asked for (ties go to the first).
    """

    net: Any
    afeat: Any  # (L, C) sound tower features
    picture_part: Any  # the picture's share of the fusion, per block
    layout: ScanLayout
    windows: list[np.ndarray]
    scored: dict[int, np.ndarray] = field(default_factory=dict)
    #: The fused maps of every scored candidate: the attention maps at the
    #: chosen offset are read from them rather than fused again.
    fused_at: dict[int, Any] = field(default_factory=dict)

    def score(self, cands: list[int]) -> None:
        """Score the candidates in range that are not scored yet."""
        import torch

        lay, net = self.layout, self.net
        nblocks = len(lay.starts)
        todo = [
            m for m in dict.fromkeys(cands) if lay.m_lo <= m <= lay.m_hi and m not in self.scored
        ]
        for chunk in range(0, len(todo), 8):
            part = todo[chunk : chunk + 8]
            idx = torch.from_numpy(
                lay.origin + lay.steps * lay.kidx[None, :] + np.array(part)[:, None]
            )
            snd_part = net.fuse_sound(self.afeat[idx]).view(len(part), nblocks, lay.t, -1)
            # Broadcast the picture part over the candidates rather than copy it.
            x = self.picture_part[None] + snd_part.transpose(2, 3)[..., None, None]
            fused = net.fuse_sum(x.flatten(0, 1))
            fused = fused.view(len(part), nblocks, *fused.shape[1:])
            for j, m in enumerate(part):
                self.scored[m] = np.zeros(len(self.windows))
                self.fused_at[m] = fused[j]
            for i, w in enumerate(self.windows):
                logits = net.decide(fused[:, w].flatten(0, 1), len(w)).logits
                for m, d in zip(part, (logits[:, 1] - logits[:, 0]).numpy(), strict=True):
                    self.scored[m][i] = d

    def best(self) -> int:
        """The scored candidate with the highest mean score over the windows."""
        return max(self.scored, key=lambda m: self.scored[m].mean())

    def means(self) -> dict[int, float]:
        """Each scored candidate's mean score over the windows."""
        return {m: float(s.mean()) for m, s in self.scored.items()}

    def window_best(self) -> list[int]:
        """Each window's own best candidate."""
        return [
            max(self.scored, key=lambda m, i=i: self.scored[m][i]) for i in range(len(self.windows))
        ]


class OffsetScan:
    """OffsetScan(weights=None, max_blocks=10, window_blocks=5, peaks=3, threads=1)

    The attention network and its calibration, scanning offsets of pictures
    already through the front end. ``weights`` defaults to the file shipped in
    the package for :attr:`variant`.
    """

    name = "attention"
    variant = "spatio-temporal"

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
        """The steps of the scan; see the module's docstring."""
        import torch

        fps = float(av.fps)
        if len(pt.tiles) < 8 or fps <= 0:
            return Estimate(None, 0.0, self.name, note="too short to analyse (fewer than 8 frames)")
        t0 = time.perf_counter()
        steps = self.cfg.audio_steps_per_frame
        snd = sound_features(
            av.audio, av.rate, av.audio_start_s, fps, bands=self.cfg.mel_bands, steps=steps
        )
        self.timings["sound_s"] += time.perf_counter() - t0
        lay = self._layout(pt, snd, fps, search_ms)
        if isinstance(lay, str):
            return Estimate(None, 0.0, self.name, note=lay)

        t0 = time.perf_counter()
        with torch.inference_mode():
            scores, sim = self._prescan(pt, snd, lay)
            best = self._decide(scores, sim, lay)
            m_fine, m_hat = self._refine(scores, sim, lay, best)
            per_window_best = scores.window_best()
            evidence = self._evidence(scores, sim, lay, best, m_fine, per_window_best, pt)
            confidence = self.confidence(evidence)
            attention = self._attention(
                scores.fused_at[m_fine], scores.windows, lay.starts, lay.t, av, pt
            )
        self.timings["network_s"] += time.perf_counter() - t0

        ms = lay.offsets
        frame_steps = ms % steps == 0
        return Estimate(
            offset_ms=float(m_hat / lay.per_second * 1000.0),
            confidence=confidence,
            method=self.name,
            windows=self._window_results(scores, per_window_best, lay, av, len(pt.tiles)),
            curve_ms=ms[frame_steps] / lay.per_second * 1000.0,
            curve_score=sim[frame_steps].astype(float),
            at_search_edge=bool(min(m_hat - lay.m_lo, lay.m_hi - m_hat) < steps / 2),
            note="" if confidence >= 0.5 else "the picture and sound evidence is weak or ambiguous",
            attention=attention,
            evidence=evidence,
        )

    def _layout(
        self, pt: PictureTiles, snd: SoundFeatures, fps: float, search_ms: float
    ) -> ScanLayout | str:
        """The blocks to read and the offsets to try, or why there is nothing to compare.

        Spans longer than ``max_blocks`` blocks are read at ``max_blocks`` blocks
        spread evenly over them, first and last included.
        """
        cfg = self.cfg
        steps = cfg.audio_steps_per_frame
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
            return "no sound to compare (silence)"
        motion = picture_motion(pt.tiles)
        if float(np.percentile(motion[1:], 95)) < STILL_MOTION:
            return "no motion in the picture to compare"

        limit = math.floor(search_ms / 1000.0 * (steps * fps) + 1e-9)
        m_lo = max(-limit, -(origin + steps * int(kidx.min())))
        m_hi = min(limit, length - 1 - origin - steps * int(kidx.max()))
        if m_hi < m_lo:
            return "not enough sound around the picture"
        return ScanLayout(steps, fps, t, starts, kidx, origin, m_lo, m_hi)

    def _prescan(
        self, pt: PictureTiles, snd: SoundFeatures, lay: ScanLayout
    ) -> tuple[CandidateScores, np.ndarray]:
        """Run each tower once; the embeddings' similarity at every offset (the curve).

        Returns the head's scorer, primed with the towers' features, and the curve.
        """
        import torch

        net = self.net
        tiles = torch.from_numpy(np.stack([pt.tiles[s : s + lay.t] for s in lay.starts]))
        geo = None
        if pt.geometry is not None:
            geo = torch.from_numpy(np.stack([pt.geometry[s : s + lay.t] for s in lay.starts]))
        vfeat = net.encode_picture(tiles, geo)
        afeat = net.encode_sound(torch.from_numpy(snd.mel)[None])[0]
        v = net.embed_picture(vfeat).reshape(len(lay.kidx), -1)
        e = net.embed_sound(afeat)
        cols = lay.origin + lay.steps * lay.kidx[:, None] + lay.offsets[None, :]
        sim = (v @ e.T).gather(1, torch.from_numpy(cols)).mean(0).numpy()
        windows = np.array_split(
            np.arange(len(lay.starts)), max(1, math.ceil(len(lay.starts) / self.window_blocks))
        )
        scores = CandidateScores(net, afeat, net.fuse_picture(vfeat), lay, windows)
        return scores, sim

    def _decide(self, scores: CandidateScores, sim: np.ndarray, lay: ScanLayout) -> int:
        """The head's choice: the pre-scan's peaks and zero, a climb, then finer steps."""
        from scipy.signal import find_peaks

        steps = lay.steps
        found, _ = find_peaks(np.concatenate([[-np.inf], sim, [-np.inf]]), distance=3 * steps)
        found = found - 1
        top = found[np.argsort(-sim[found])][: self.peaks] + lay.m_lo
        # The head first judges the pre-scan's peaks and zero, then climbs whole
        # frames until neither neighbour is better.
        cands = [int(p) for p in top]
        if all(abs(p) >= steps for p in cands):  # else the climb reaches zero anyway
            cands.append(0)
        scores.score(cands)
        best = scores.best()
        for _ in range(3):
            scores.score([best - steps, best + steps])
            climbed = scores.best()
            if climbed == best:
                break
            best = climbed
        # Then halve the step twice around the winner: half a frame, a quarter.
        for d in (steps // 2, 1):
            scores.score([best - d, best + d])
            best = scores.best()
        return best

    @staticmethod
    def _refine(
        scores: CandidateScores, sim: np.ndarray, lay: ScanLayout, best: int
    ) -> tuple[int, float]:
        """The vote of head and pre-scan within a frame of ``best``: (step, sub-step position).

        The head is trained only against shifts of two frames or more, so it
        hardly tells neighbouring quarter steps apart; the tower embeddings can
        (their contrastive loss ranks every shift). Within one frame of the
        head's choice both vote, each in units of its own spread.
        """
        mean = scores.means()
        head_sd = float(np.std(list(mean.values()))) + 1e-6
        sim_sd = float(np.std(sim)) + 1e-6

        def vote(m: int) -> float:
            return mean[m] / head_sd + 0.5 * float(sim[m - lay.m_lo]) / sim_sd

        near = [m for m in range(best - lay.steps, best + lay.steps + 1) if m in mean]
        m_fine = max(near, key=vote)
        delta = 0.0
        if m_fine - 1 in mean and m_fine + 1 in mean:
            delta = parabolic_offset(np.array([vote(m_fine + d) for d in (-1, 0, 1)]), 1)
        return m_fine, m_fine + delta

    @staticmethod
    def _evidence(
        scores: CandidateScores,
        sim: np.ndarray,
        lay: ScanLayout,
        best: int,
        m_fine: int,
        per_window_best: list[int],
        pt: PictureTiles,
    ) -> dict[str, float]:
        """The scan's evidence behind the confidence (see :data:`EVIDENCE`)."""
        mean = scores.means()
        rivals = [mean[m] for m in mean if abs(m - best) >= 3 * lay.steps]
        mad = float(np.median(np.abs(sim - np.median(sim)))) * 1.4826 + 1e-6
        return {
            "margin": mean[best] - (max(rivals) if rivals else min(mean.values())),
            "top": mean[best],
            "agree": float(np.mean([abs(m - best) <= lay.steps for m in per_window_best])),
            "prescan_z": float((sim[m_fine - lay.m_lo] - np.median(sim)) / mad),
            "log_blocks": math.log(len(lay.starts)),
            "face": pt.face_fraction,
        }

    @staticmethod
    def _window_results(
        scores: CandidateScores,
        per_window_best: list[int],
        lay: ScanLayout,
        av: AVInput,
        frames: int,
    ) -> list[WindowResult]:
        """Each window's own answer, its span and its margin over rivals as a confidence."""
        times = av.frame_times if len(av.frame_times) == frames else np.arange(frames) / lay.fps
        out = []
        for i, w in enumerate(scores.windows):
            s0 = float(times[lay.starts[w[0]]])
            s1 = float(times[min(len(times) - 1, lay.starts[w[-1]] + lay.t - 1)]) + 1.0 / lay.fps
            mw = per_window_best[i]
            others = [scores.scored[m][i] for m in scores.scored if abs(m - mw) >= 3 * lay.steps]
            margin = scores.scored[mw][i] - (max(others) if others else 0.0)
            out.append(
                WindowResult(
                    s0,
                    s1 - s0,
                    mw / lay.per_second * 1000.0,
                    float(1 / (1 + math.exp(-margin))),
                    1.0,
                )
            )
        return out

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
