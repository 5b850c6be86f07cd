"""Third-party audio-alignment tools wrapped as benchmark anchors.

The dub benchmark compares our sync estimates against tools that other people
would reach for, so a number from us can be read next to "what syncstart /
audio-offset-finder / a textbook GCC-PHAT say on the same excerpt".

The two free tools live in their own virtualenv (their pins, e.g. numpy<2 for
syncstart, must not leak into the project's environment), so they are run as
subprocesses of that venv's console scripts.  Only the standard library and
numpy are imported here.

Every function takes the same pair of excerpts:

* ``sound``: a short excerpt of a dub (8-20 s) at its nominal position;
* ``reference``: the original mix from ``search_s`` before the sound's nominal
  start to ``search_s`` after its nominal end.

and returns the lag in milliseconds, positive when the sound is LATE: if the
sound's first sample matches the reference at ``p`` seconds from the
reference's start, the lag is ``(search_s - p) * 1000``.
"""

import json
import math
import os
import shutil
import subprocess
import wave
from pathlib import Path

import numpy as np

#: The anchors' virtualenv; override with $AVSYNC_ANCHOR_VENV for another layout.
ANCHOR_VENV = Path(os.environ.get("AVSYNC_ANCHOR_VENV", "/work/anchors/venv"))

#: Seconds a tool may run before we give up on it (first calls warm caches).
DEFAULT_TIMEOUT_S = 180.0


def _tool(name: str) -> Path:
    """Console script ``name`` inside the anchor venv."""
    return ANCHOR_VENV / "bin" / name


def _runnable(path: Path) -> bool:
    """True when ``path`` is an executable file (a missing venv is not an error)."""
    return path.is_file() and os.access(path, os.X_OK)


def available() -> dict[str, bool]:
    """Which anchors can run here, so the benchmark can skip the rest instead of failing.

    syncstart needs ffmpeg and ffprobe; audio-offset-finder needs ffmpeg;
    GCC-PHAT is pure numpy and always runs.
    """
    has_ffmpeg = shutil.which("ffmpeg") is not None
    has_ffprobe = shutil.which("ffprobe") is not None
    return {
        "syncstart": _runnable(_tool("python"))
        and (_tool("syncstart")).is_file()
        and has_ffmpeg
        and has_ffprobe,
        "audio_offset_finder": _runnable(_tool("audio-offset-finder")) and has_ffmpeg,
        "gcc_phat": True,
    }


def _run_quiet(cmd: list[str], timeout_s: float) -> str | None:
    """Run ``cmd`` with no terminal chatter; its stdout, or None on failure/timeout.

    A headless matplotlib backend is requested so no tool tries to open a window.
    """
    env = dict(os.environ, MPLBACKEND="Agg")
    try:
        proc = subprocess.run(
            cmd,
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            timeout=timeout_s,
            env=env,
            check=False,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    if proc.returncode != 0:
        return None
    return proc.stdout


def _wav_seconds(path: Path) -> float | None:
    """Duration of a PCM WAV, or None when the stdlib reader can't parse it (e.g. float WAV)."""
    try:
        with wave.open(str(path), "rb") as w:
            return w.getnframes() / w.getframerate()
    except (OSError, EOFError, wave.Error):
        return None


# syncstart's console script does sys.exit((file, offset)), so it always exits 1;
# calling its entry function ourselves keeps exit 0 for success, non-zero for failure.
_SYNCSTART_MAIN = (
    "import sys\nfrom syncstart import file_offset\nsys.argv[0] = 'syncstart'\nfile_offset()"
)


def syncstart_lag_ms(
    sound: Path, reference: Path, *, search_s: float, timeout_s: float = DEFAULT_TIMEOUT_S
) -> float | None:
    """Lag of ``sound`` against ``reference`` per syncstart 1.1.1 (None if it fails).

    syncstart resamples both files to the higher of their rates, takes the
    first ``--take`` seconds of each, and picks the peak of the absolute
    full-length FFT cross-correlation.  Its default take (20 s) would cut the
    reference short, so take is set to cover the whole reference, which makes
    the search span every overlap of the two files (wider than +-search_s).
    It prints ``file_to_cut,seconds``: cutting the reference by p seconds means
    the sound starts p seconds into the reference; cutting the sound means the
    opposite sign.
    """
    ref_len = _wav_seconds(reference)
    snd_len = _wav_seconds(sound)
    if ref_len is None or snd_len is None:
        take = 24 * 3600.0  # unknown length: take everything
    else:
        take = math.ceil(max(ref_len, snd_len)) + 1.0
    sound_arg, reference_arg = str(sound), str(reference)
    if sound_arg == reference_arg:
        return None
    out = _run_quiet(
        [
            str(_tool("python")),
            "-c",
            _SYNCSTART_MAIN,
            sound_arg,
            reference_arg,
            "-s",  # suppress the interactive plots
            "-q",  # print only "file_to_cut,seconds"
            "-t",
            f"{take:g}",
        ],
        timeout_s,
    )
    if not out or not out.strip():
        return None
    line = out.strip().splitlines()[-1]
    cut_file, _, seconds_text = line.rpartition(",")
    try:
        seconds = float(seconds_text)
    except ValueError:
        return None
    if cut_file == reference_arg:
        start_in_reference = seconds
    elif cut_file == sound_arg:
        start_in_reference = -seconds
    else:
        return None
    return (search_s - start_in_reference) * 1000.0


def audio_offset_finder_lag_ms(
    sound: Path,
    reference: Path,
    *,
    search_s: float,
    timeout_s: float = DEFAULT_TIMEOUT_S,
    sr: int = 8000,
    resolution: int = 128,
) -> float | None:
    """Lag of ``sound`` against ``reference`` per audio-offset-finder 0.5.5 (None if it fails).

    The BBC tool resamples both files to ``sr`` (default 8 kHz), computes MFCCs
    every ``resolution`` samples (default 128, i.e. a 16 ms grid) and
    cross-correlates them.  ``--find-offset-of sound --within reference``
    reports the time from the reference's start to the sound's start (positive
    when the sound starts later).  The tool's defaults are kept, as a user
    would: its answer is therefore quantised to resolution/sr seconds.  It
    correlates a window of min(len(reference)/3, len(sound)) frames, so it can
    place the sound anywhere from 0 to len(reference)-window into the reference
    (which covers +-search_s) and a little before the reference's start.
    """
    out = _run_quiet(
        [
            str(_tool("audio-offset-finder")),
            "--find-offset-of",
            str(sound),
            "--within",
            str(reference),
            "--sr",
            str(int(sr)),
            "--resolution",
            str(int(resolution)),
            "--json",
        ],
        timeout_s,
    )
    if not out or not out.strip():
        return None
    try:
        result = json.loads(out.strip().splitlines()[-1])
        start_in_reference = float(result["time_offset"])
    except (ValueError, KeyError, TypeError):
        return None
    return (search_s - start_in_reference) * 1000.0


def gcc_phat_lag_ms(
    sound: np.ndarray, reference: np.ndarray, rate: int, *, search_s: float
) -> float:
    """Textbook GCC-PHAT lag of ``sound`` against ``reference`` (same excerpts, mono, ``rate`` Hz).

    One FFT over the whole of both signals, cross-spectrum whitened by its
    magnitude (PHAT), inverse FFT, and the argmax over the lags within
    +-search_s of the nominal position: the baseline a signal-processing
    textbook gives, with no sub-sample interpolation.
    """
    snd = np.asarray(sound, dtype=np.float64)
    ref = np.asarray(reference, dtype=np.float64)
    if snd.ndim > 1:
        snd = snd.mean(axis=1)
    if ref.ndim > 1:
        ref = ref.mean(axis=1)
    n = 1 << math.ceil(math.log2(len(snd) + len(ref)))
    cross = np.fft.rfft(ref, n) * np.conj(np.fft.rfft(snd, n))
    cross /= np.maximum(np.abs(cross), 1e-12)
    cc = np.fft.irfft(cross, n)
    # cc[k] peaks where ref[i + k] == snd[i]: k is the sound's start in the reference,
    # negative k wrapping to the end of the array.
    nominal = round(search_s * rate)  # start index of a sound with zero lag
    span = round(search_s * rate)
    starts = np.arange(nominal - span, nominal + span + 1)
    starts = starts[(starts > -len(snd)) & (starts < len(ref))]
    best = int(starts[int(np.argmax(cc[starts % n]))])
    return (search_s - best / rate) * 1000.0
