using System.Diagnostics.CodeAnalysis;

namespace Hailo.Runtime.Npu;

/// <summary>
/// The loaded shim: which library, which backend (hailort / fake), which versions. <see cref="TryLoad"/> is the
/// one place that decides whether the NPU is usable; every other entry point calls it first.
/// </summary>
public sealed unsafe class NpuRuntime
{
    private static readonly Lock s_lock = new();
    private static volatile NpuRuntime? s_current;

    private NpuRuntime(string libraryPath, string backend, string shimVersion, int abi, Version runtime, Version built)
    {
        LibraryPath = libraryPath;
        BackendName = backend;
        ShimVersion = shimVersion;
        AbiVersion = abi;
        RuntimeVersion = runtime;
        BuiltAgainstVersion = built;
    }

    /// <summary>Where the shim was loaded from.</summary>
    public string LibraryPath { get; }
    /// <summary>"hailort" on a Pi with the real runtime, "fake" for the deterministic test backend.</summary>
    public string BackendName { get; }
    public bool IsFake => BackendName == "fake";
    public string ShimVersion { get; }
    public int AbiVersion { get; }
    /// <summary>The libhailort version loaded at run time (the fake reports 5.2.0).</summary>
    public Version RuntimeVersion { get; }
    /// <summary>The libhailort version the shim was compiled against; equal to <see cref="RuntimeVersion"/> when loaded.</summary>
    public Version BuiltAgainstVersion { get; }

    /// <summary>The runtime if <see cref="TryLoad"/> has succeeded in this process, else null.</summary>
    public static NpuRuntime? Current => s_current;

    /// <summary>
    /// Loads the shim (HAILO_SHIM_PATH, then next to the executable, then the system library path), checks the ABI
    /// and the HailoRT version. Never throws for a missing or mismatched library: returns false with a reason.
    /// A success is cached for the process.
    /// </summary>
    public static bool TryLoad([NotNullWhen(true)] out NpuRuntime? runtime, out string reason)
    {
        runtime = s_current;
        reason = "";
        if (runtime is not null) return true;
        lock (s_lock)
        {
            runtime = s_current;
            if (runtime is not null) return true;
            if (!ShimLibrary.TryEnsureLoaded(out reason)) return false;
            HsVersion rt, built;
            var st = NativeMethods.hs_runtime_version(&rt, &built);
            if (st != 0)
            {
                var e = Shim.Error(st);
                reason = st == (int)HailoStatus.VersionMismatch
                    ? $"HailoRT version mismatch ({e.ShimMessage})"
                    : $"{ShimLibrary.LoadedPath} is not usable: {e.Message}";
                return false;
            }
            runtime = new NpuRuntime(ShimLibrary.LoadedPath!, Shim.Utf8(NativeMethods.hs_backend_name()),
                Shim.Utf8(NativeMethods.hs_shim_version()), NativeMethods.hs_abi_version(), rt.ToVersion(), built.ToVersion());
            s_current = runtime;
            return true;
        }
    }

    /// <summary>Like <see cref="TryLoad"/> but throws <see cref="NpuUnavailableException"/> with the reason.</summary>
    public static NpuRuntime Load() => TryLoad(out var rt, out var reason) ? rt : throw new NpuUnavailableException(reason);

    /// <summary>Entry points call this before their first P/Invoke so nothing binds to a missing library.</summary>
    internal static void EnsureLoaded()
    {
        if (s_current is null) Load();
    }

    /// <summary>HailoRT's name of any status value, e.g. 74 → "HAILO_OUT_OF_PHYSICAL_DEVICES".</summary>
    public static string StatusName(int status)
    {
        EnsureLoaded();
        return Shim.StatusName(status);
    }

    public override string ToString() =>
        $"libhailo_shim {ShimVersion} (ABI {AbiVersion}, backend {BackendName}, HailoRT {RuntimeVersion}) from {LibraryPath}";
}
