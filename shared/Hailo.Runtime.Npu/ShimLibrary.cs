using System.Reflection;
using System.Runtime.InteropServices;

namespace Hailo.Runtime.Npu;

/// <summary>
/// Finds and loads libhailo_shim.so and routes this assembly's P/Invokes to it. The probing steps are pure
/// functions (<see cref="Candidates"/>, <see cref="Probe"/>) so they can be tested without touching the
/// process-wide resolver.
/// </summary>
internal static unsafe class ShimLibrary
{
    internal const string LibraryName = "hailo_shim";
    internal const string FileName = "libhailo_shim.so";
    internal const string PathVariable = "HAILO_SHIM_PATH";
    /// <summary>HS_ABI_VERSION this binding mirrors; any other value means the structs or signatures differ.</summary>
    internal const int ExpectedAbi = 1;

    private static readonly Lock s_lock = new();
    private static nint s_handle;
    private static string? s_path;
    private static int s_resolverInstalled;

    /// <summary>Where a library may come from, in the order they are tried.</summary>
    internal readonly record struct Candidate(string Path, CandidateKind Kind);

    internal enum CandidateKind
    {
        /// <summary>HAILO_SHIM_PATH: authoritative, so a typo never silently selects another library.</summary>
        Explicit,
        /// <summary>Next to the executable (AppContext.BaseDirectory), e.g. a self-contained service.</summary>
        AppDirectory,
        /// <summary>The bare file name, left to the dynamic loader (ld.so.cache, /usr/lib/&lt;triplet&gt;/, LD_LIBRARY_PATH).</summary>
        System,
    }

    /// <summary>The candidates for a given environment value and executable directory.</summary>
    internal static IReadOnlyList<Candidate> Candidates(string? explicitPath, string baseDirectory)
    {
        if (!string.IsNullOrWhiteSpace(explicitPath)) return [new Candidate(explicitPath, CandidateKind.Explicit)];
        return
        [
            new Candidate(Path.Combine(baseDirectory, FileName), CandidateKind.AppDirectory),
            new Candidate(FileName, CandidateKind.System),
        ];
    }

    /// <summary>Result of loading one candidate: a handle with a matching ABI, or why not.</summary>
    internal readonly record struct ProbeResult(nint Handle, int Abi, string? Failure)
    {
        public bool Ok => Failure is null;
    }

    /// <summary>
    /// Loads one candidate and checks hs_abi_version through a function pointer (not through the P/Invokes, so
    /// nothing global is bound). On failure the library is unloaded again.
    /// </summary>
    internal static ProbeResult Probe(Candidate candidate)
    {
        if (candidate.Kind != CandidateKind.System && !File.Exists(candidate.Path))
            return new(0, 0, candidate.Kind == CandidateKind.Explicit
                ? $"{PathVariable}={candidate.Path} does not exist"
                : $"{candidate.Path} does not exist");
        nint handle;
        try
        {
            handle = NativeLibrary.Load(candidate.Path);
        }
        catch (Exception e) when (e is DllNotFoundException or BadImageFormatException)
        {
            var what = candidate.Kind == CandidateKind.System ? $"{FileName} is not in the system library path" : $"cannot load {candidate.Path}";
            return new(0, 0, $"{what}: {LoaderMessage(e.Message)}");
        }
        if (!NativeLibrary.TryGetExport(handle, "hs_abi_version", out var fn))
        {
            NativeLibrary.Free(handle);
            return new(0, 0, $"{candidate.Path} has no hs_abi_version export; it is not libhailo_shim");
        }
        var abi = ((delegate* unmanaged<int>)fn)();
        if (abi != ExpectedAbi)
        {
            NativeLibrary.Free(handle);
            return new(0, abi, $"{candidate.Path} has shim ABI {abi} but this build of the services expects {ExpectedAbi}; install matching versions");
        }
        return new(handle, abi, null);
    }

    /// <summary>The path the P/Invokes are bound to, once loaded.</summary>
    internal static string? LoadedPath => s_path;

    /// <summary>
    /// Loads the library once per process (the first one with a matching ABI stays for the process lifetime) and
    /// installs the resolver. Later calls return the cached result, or retry when nothing was found yet.
    /// </summary>
    internal static bool TryEnsureLoaded(out string reason)
    {
        lock (s_lock)
        {
            if (s_handle != 0)
            {
                reason = "";
                return true;
            }
            var failures = new List<string>();
            foreach (var c in Candidates(Environment.GetEnvironmentVariable(PathVariable), AppContext.BaseDirectory))
            {
                var r = Probe(c);
                if (!r.Ok)
                {
                    failures.Add(r.Failure!);
                    continue;
                }
                s_path = c.Kind == CandidateKind.System ? FileName + " (system library path)" : Path.GetFullPath(c.Path);
                s_handle = r.Handle;
                InstallResolver();
                reason = "";
                return true;
            }
            // The common case on a machine without the HAT deserves one plain sentence, not two loader errors.
            reason = failures.Count == 2 && failures[0].EndsWith(" does not exist", StringComparison.Ordinal)
                     && failures[1].StartsWith($"{FileName} is not in the system library path", StringComparison.Ordinal)
                     && (failures[1].Contains("No such file", StringComparison.Ordinal) || failures[1].Contains("DllNotFound", StringComparison.Ordinal))
                ? $"{FileName} is not installed (neither next to the executable nor on the system library path)"
                : string.Join("; ", failures);
            return false;
        }
    }

    private static void InstallResolver()
    {
        // SetDllImportResolver throws if called twice for an assembly; the flag makes this idempotent.
        if (Interlocked.Exchange(ref s_resolverInstalled, 1) != 0) return;
        NativeLibrary.SetDllImportResolver(typeof(ShimLibrary).Assembly, Resolve);
    }

    private static nint Resolve(string libraryName, Assembly assembly, DllImportSearchPath? searchPath) =>
        libraryName == LibraryName ? s_handle : 0;

    // .NET prefixes the dynamic loader's own text (dlerror) with a generic sentence; keep only the loader's text.
    private static string LoaderMessage(string message)
    {
        var lines = message.Split('\n', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries);
        var rest = lines.Where(l => !l.StartsWith("Unable to load shared library", StringComparison.Ordinal)).ToArray();
        return rest.Length > 0 ? string.Join("; ", rest) : lines.FirstOrDefault() ?? message;
    }
}
