using Hailo.TestSupport;
using System.Diagnostics;

namespace Hailo.Runtime.Tests;

/// <summary>Runs tests/Hailo.Runtime.Tests.Child as a second process that shares this run's fake device state.</summary>
internal sealed class ChildProcess : IDisposable
{
    private readonly Process _process;

    private ChildProcess(Process process) => _process = process;

    /// <summary>The child's first stdout line ("READY", "ERROR …", "AVAILABLE …", "UNAVAILABLE …").</summary>
    public string FirstLine { get; private set; } = "";

    /// <summary>Starts the child with this run's environment plus <paramref name="environment"/> and reads its status line.</summary>
    public static ChildProcess Start(IReadOnlyDictionary<string, string?>? environment, params string[] args)
    {
        _ = FakeShim.LibraryPath; // the environment (HAILO_SHIM_PATH, HS_FAKE_STATE_DIR, HS_BACKEND) is set up
        var dll = Path.Combine(AppContext.BaseDirectory, "Hailo.Runtime.Tests.Child.dll");
        var dotnet = Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") is { Length: > 0 } h ? h : "dotnet";
        var psi = new ProcessStartInfo(dotnet)
        {
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        psi.ArgumentList.Add(dll);
        foreach (var a in args) psi.ArgumentList.Add(a);
        if (environment is not null)
            foreach (var (k, v) in environment)
                psi.Environment[k] = v;
        var child = new ChildProcess(Process.Start(psi)!);
        var line = child._process.StandardOutput.ReadLineAsync();
        if (!line.Wait(TimeSpan.FromSeconds(60)))
        {
            child.Dispose();
            throw new TimeoutException("the child process printed nothing within 60 s");
        }
        child.FirstLine = line.Result ?? "(no output) " + child._process.StandardError.ReadToEnd();
        return child;
    }

    /// <summary>Runs a child to completion and returns its status line.</summary>
    public static string Run(IReadOnlyDictionary<string, string?>? environment, params string[] args)
    {
        using var child = Start(environment, args);
        return child.FirstLine;
    }

    /// <summary>Closes the child's stdin so it releases what it holds, and waits for it to exit.</summary>
    public void Release()
    {
        if (_process.HasExited) return;
        _process.StandardInput.Close();
        if (!_process.WaitForExit(TimeSpan.FromSeconds(30))) _process.Kill(entireProcessTree: true);
    }

    public void Dispose()
    {
        try
        {
            Release();
        }
        finally
        {
            if (!_process.HasExited) _process.Kill(entireProcessTree: true);
            _process.Dispose();
        }
    }
}
