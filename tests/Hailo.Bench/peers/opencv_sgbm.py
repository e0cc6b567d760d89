#!/usr/bin/env python3
"""OpenCV's StereoSGBM on one rectified pair, for the stereo bench.

usage: opencv_sgbm.py LEFT RIGHT OUT.f32 --num-disparities N [--half] [--mode sgbm|hh|3way] [--threads 2]
       [--block-size 5] [--p1 ..] [--p2 ..] [--uniqueness 5] [--disp12-max-diff 1] [--speckle-window 100]
       [--speckle-range 2] [--repeats 5] [--serve]

Writes the disparity map at the full input size as little-endian float32 (NaN where OpenCV gives none; at half
resolution each pixel takes its 2x2 block's disparity, doubled) and prints one JSON line with the compute() times.
With --serve it prints a JSON line once ready, then runs compute() once per "run" line on stdin (one JSON line with
the time each), so that a caller can alternate its own runs with OpenCV's; the map is written at end of input.
Exit code 3 when cv2 is missing (Debian: apt-get install python3-opencv).
"""
import argparse, json, sys, time

try:
    import cv2
    import numpy as np
except ImportError as e:
    print(json.dumps({"error": f"{e}; install python3-opencv (apt-get install python3-opencv)"}))
    sys.exit(3)

a = argparse.ArgumentParser()
a.add_argument("left"); a.add_argument("right"); a.add_argument("out")
a.add_argument("--num-disparities", type=int, required=True)
a.add_argument("--min-disparity", type=int, default=0)
a.add_argument("--half", action="store_true")
a.add_argument("--mode", default="sgbm", choices=["sgbm", "hh", "3way", "hh4"])
a.add_argument("--threads", type=int, default=2)
a.add_argument("--block-size", type=int, default=5)
a.add_argument("--p1", type=int)
a.add_argument("--p2", type=int)
a.add_argument("--uniqueness", type=int, default=5)
a.add_argument("--disp12-max-diff", type=int, default=1)
a.add_argument("--speckle-window", type=int, default=100)
a.add_argument("--speckle-range", type=int, default=2)
a.add_argument("--repeats", type=int, default=5)
a.add_argument("--serve", action="store_true")
o = a.parse_args()

cv2.setNumThreads(o.threads)
left = cv2.imread(o.left, cv2.IMREAD_GRAYSCALE)
right = cv2.imread(o.right, cv2.IMREAD_GRAYSCALE)
h, w = left.shape
min_d, num_d = o.min_disparity, o.num_disparities
speckle_window = o.speckle_window
if o.half:
    # 2x2 box means (the same halving as the service), the range halved and rounded out to OpenCV's multiple of 16.
    left = cv2.resize(left[: h // 2 * 2, : w // 2 * 2], (w // 2, h // 2), interpolation=cv2.INTER_AREA)
    right = cv2.resize(right[: h // 2 * 2, : w // 2 * 2], (w // 2, h // 2), interpolation=cv2.INTER_AREA)
    max_d = -(-(min_d + num_d) // 2)
    min_d = min_d // 2
    num_d = max_d - min_d
    speckle_window //= 4
num_d = -(-num_d // 16) * 16  # OpenCV wants a multiple of 16
bs = o.block_size
modes = {"sgbm": cv2.STEREO_SGBM_MODE_SGBM, "hh": cv2.STEREO_SGBM_MODE_HH, "3way": cv2.STEREO_SGBM_MODE_SGBM_3WAY,
         "hh4": cv2.STEREO_SGBM_MODE_HH4}
sgbm = cv2.StereoSGBM_create(minDisparity=min_d, numDisparities=num_d, blockSize=bs,
                             P1=o.p1 if o.p1 is not None else 8 * bs * bs, P2=o.p2 if o.p2 is not None else 32 * bs * bs,
                             disp12MaxDiff=o.disp12_max_diff, uniquenessRatio=o.uniqueness,
                             speckleWindowSize=speckle_window, speckleRange=o.speckle_range, mode=modes[o.mode])
disp = sgbm.compute(left, right)  # warm-up
times = []
if o.serve:
    print(json.dumps({"ready": True, "opencv": cv2.__version__, "num_disparities": num_d}), flush=True)
    for line in sys.stdin:
        if line.strip() != "run":
            continue
        t, c = time.perf_counter(), time.process_time()
        disp = sgbm.compute(left, right)
        times.append((time.perf_counter() - t) * 1000)
        print(json.dumps({"ms": times[-1], "cpu_ms": (time.process_time() - c) * 1000}), flush=True)
else:
    for _ in range(max(1, o.repeats)):
        t = time.perf_counter()
        disp = sgbm.compute(left, right)
        times.append((time.perf_counter() - t) * 1000)
d = disp.astype(np.float32) / 16.0
d[disp < min_d * 16] = np.nan
if o.half:
    d = np.repeat(np.repeat(d * 2, 2, axis=0), 2, axis=1)
    full = np.full((h, w), np.nan, np.float32)
    full[: d.shape[0], : d.shape[1]] = d
    d = full
d.astype("<f4").tofile(o.out)
print(json.dumps({"times_ms": times, "opencv": cv2.__version__, "num_disparities": num_d, "width": w, "height": h}))
