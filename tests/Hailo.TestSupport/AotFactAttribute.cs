using Xunit;

namespace Hailo.TestSupport;

/// <summary>
/// A test that only the Native AOT binary can pass (e.g. under MemoryDenyWriteExecute, where a JIT cannot run): it
/// runs when AOT_BINARY_HAILO_&lt;NAME&gt; names the binary (`make test-aot`) and is reported as skipped otherwise.
/// </summary>
public sealed class AotFactAttribute : FactAttribute
{
    public AotFactAttribute(string service)
    {
        if (string.IsNullOrEmpty(Environment.GetEnvironmentVariable(ServiceProcessTestBase.AotBinaryVariable(service))))
            Skip = $"runs against the Native AOT binary only ({ServiceProcessTestBase.AotBinaryVariable(service)} unset; make test-aot sets it)";
    }
}
