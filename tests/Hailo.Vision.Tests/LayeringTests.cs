using Xunit;

namespace Hailo.Vision.Tests;

/// <summary>Hailo.Vision stays a leaf: any service (or a tool without a web host) can take it.</summary>
public sealed class LayeringTests
{
    [Fact]
    public void Hailo_Vision_references_no_project_of_ours_and_no_ASP_NET_Core()
    {
        var references = typeof(Box).Assembly.GetReferencedAssemblies().Select(a => a.Name!).ToList();
        Assert.NotEmpty(references);
        Assert.DoesNotContain(references, r => r.StartsWith("Hailo.", StringComparison.Ordinal));
        Assert.DoesNotContain(references, r => r.StartsWith("Microsoft.AspNetCore", StringComparison.Ordinal));
        Assert.DoesNotContain(references, r => r.StartsWith("SkiaSharp", StringComparison.Ordinal));
    }
}
