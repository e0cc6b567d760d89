using Xunit;

namespace Hailo.Face.Tests;

/// <summary>Hailo.Face works under any host: it reaches neither ASP.NET Core nor the HTTP host library.</summary>
public sealed class LayeringTests
{
    [Fact]
    public void Hailo_Face_references_no_web_host()
    {
        var references = typeof(FacePipeline).Assembly.GetReferencedAssemblies().Select(a => a.Name!).ToList();
        Assert.Contains("Hailo.Vision", references);
        Assert.DoesNotContain(references, r => r.StartsWith("Microsoft.AspNetCore", StringComparison.Ordinal));
        Assert.DoesNotContain("Hailo.Hosting", references);
        Assert.DoesNotContain("Hailo.Runtime", references);
    }
}
