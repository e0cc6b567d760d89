using System.Text.RegularExpressions;
using System.Xml.Linq;
using Hailo.TestSupport;
using Xunit;

namespace Hailo.Hosting.Tests;

/// <summary>
/// The layering of the repository, read from the .csproj files (and the InternalsVisibleTo attributes in source),
/// without building anything: services build on shared/ libraries only, shared libraries know no service and no
/// test, the two native bindings and Hailo.Core depend on no project of ours, the decoding libraries (Media, Audio) and the
/// GenAI core do not reach the HTTP host, and only tests see a library's internals.
/// </summary>
public sealed partial class ProjectGraphTests
{
    /// <summary>
    /// One project: <paramref name="Path"/> is its .csproj relative to the repository root ("shared/X/X.csproj"),
    /// <paramref name="References"/> the same for its ProjectReferences, <paramref name="InternalsVisibleTo"/> the
    /// assembly names its internals are visible to.
    /// </summary>
    internal sealed record Project(string Path, string AssemblyName, IReadOnlyList<string> References, IReadOnlyList<string> InternalsVisibleTo)
    {
        public string Area => Path.Split('/')[0];
        public bool IsService => Area == "services";
        public bool IsShared => Area == "shared";
        public bool IsTest => Area == "tests";
        public bool IsProduction => IsService || IsShared;
    }

    /// <summary>
    /// Projects that must stay leaves (the native bindings and the host-agnostic core types): nothing of ours, so
    /// anything may use them.
    /// </summary>
    internal static readonly string[] Leaves =
    [
        "shared/Hailo.Runtime.Npu/Hailo.Runtime.Npu.csproj",
        "shared/Hailo.Runtime.Onnx/Hailo.Runtime.Onnx.csproj",
        "shared/Hailo.Core/Hailo.Core.csproj",
    ];

    internal const string Host = "shared/Hailo.Hosting/Hailo.Hosting.csproj";

    /// <summary>
    /// Libraries that must work under any host (HTTP, Wyoming, a test) and must not reach Hailo.Hosting, directly or
    /// through another project: the decoders report bad input with Hailo.Core's RequestRejectedException, and the GenAI
    /// core reports to its host through IGenAiHost (its HTTP side is Hailo.GenAI.Http).
    /// </summary>
    internal static readonly string[] HostAgnostic =
    [
        "shared/Hailo.Core/Hailo.Core.csproj",
        "shared/Hailo.Media/Hailo.Media.csproj",
        "shared/Hailo.Audio/Hailo.Audio.csproj",
        "shared/Hailo.GenAI/Hailo.GenAI.csproj",
        "shared/Hailo.Face/Hailo.Face.csproj",
    ];

    /// <summary>Every project <paramref name="from"/> reaches through its references (itself excluded).</summary>
    private static HashSet<string> Reachable(Dictionary<string, Project> byPath, string from)
    {
        var seen = new HashSet<string>(StringComparer.Ordinal);
        var todo = new Stack<string>([from]);
        while (todo.TryPop(out var p))
            if (byPath.TryGetValue(p, out var project))
                foreach (var r in project.References)
                    if (seen.Add(r)) todo.Push(r);
        return seen;
    }

    /// <summary>Every rule the graph breaks, one sentence each; empty when the layering holds.</summary>
    internal static List<string> Violations(IReadOnlyList<Project> projects)
    {
        var byPath = projects.ToDictionary(p => p.Path, StringComparer.Ordinal);
        var byAssembly = projects.ToDictionary(p => p.AssemblyName, StringComparer.Ordinal);
        // A test project that references a service tests (or measures) that service.
        bool IsServiceTest(Project p) => p.IsTest && p.References.Any(r => byPath.TryGetValue(r, out var t) && t.IsService);
        var found = new List<string>();
        foreach (var p in projects)
        {
            foreach (var r in p.References)
            {
                if (!byPath.TryGetValue(r, out var target))
                {
                    found.Add($"{p.Path} references {r}, which is not a project of the repository");
                    continue;
                }
                if (p.IsService && target.IsService)
                    found.Add($"service {p.Path} references another service, {r}");
                if (p.IsShared && target.IsService)
                    found.Add($"shared project {p.Path} references the service {r}");
                if (p.IsProduction && target.IsTest)
                    found.Add($"production project {p.Path} references the test project {r}");
                if (Leaves.Contains(p.Path))
                    found.Add($"{p.Path} must reference no project of ours but references {r}");
            }
            if (HostAgnostic.Contains(p.Path) && Reachable(byPath, p.Path).Contains(Host))
                found.Add($"{p.Path} must not depend on the HTTP host {Host}");
            if (!p.IsShared) continue;
            foreach (var name in p.InternalsVisibleTo)
            {
                if (!byAssembly.TryGetValue(name, out var friend))
                    found.Add($"shared project {p.Path} makes its internals visible to {name}, which is no project of the repository");
                else if (friend.IsService)
                    found.Add($"shared project {p.Path} makes its internals visible to the service {friend.Path}");
                else if (IsServiceTest(friend))
                    found.Add($"shared project {p.Path} makes its internals visible to {friend.Path}, which tests a service");
            }
        }
        return found;
    }

    /// <summary>Reads every .csproj under services/, shared/ and tests/ (bin/ and obj/ left out).</summary>
    internal static List<Project> Load(string root)
    {
        var projects = new List<Project>();
        foreach (var area in new[] { "services", "shared", "tests" })
        foreach (var file in Directory.EnumerateFiles(Path.Combine(root, area), "*.csproj", SearchOption.AllDirectories))
        {
            var dir = Path.GetDirectoryName(file)!;
            if (IsBuildOutput(root, dir)) continue;
            var xml = XDocument.Load(file);
            var items = xml.Descendants().Where(e => e.Name.LocalName is "ProjectReference" or "InternalsVisibleTo").ToList();
            var references = items.Where(e => e.Name.LocalName == "ProjectReference")
                .Select(e => Relative(root, Path.GetFullPath(Path.Combine(dir, (string)e.Attribute("Include")!)))).ToList();
            var friends = items.Where(e => e.Name.LocalName == "InternalsVisibleTo").Select(e => (string)e.Attribute("Include")!).ToList();
            foreach (var cs in Directory.EnumerateFiles(dir, "*.cs", SearchOption.AllDirectories))
                if (!IsBuildOutput(root, Path.GetDirectoryName(cs)!))
                    friends.AddRange(AssemblyFriend().Matches(File.ReadAllText(cs)).Select(m => m.Groups[1].Value));
            var assembly = xml.Descendants().LastOrDefault(e => e.Name.LocalName == "AssemblyName")?.Value
                           ?? Path.GetFileNameWithoutExtension(file);
            projects.Add(new Project(Relative(root, file), assembly, references, friends));
        }
        return projects;
    }

    private static bool IsBuildOutput(string root, string dir) =>
        Relative(root, dir).Split('/').Any(part => part is "bin" or "obj");

    private static string Relative(string root, string path) => Path.GetRelativePath(root, path).Replace('\\', '/');

    [GeneratedRegex("""\[\s*assembly\s*:\s*(?:System\.Runtime\.CompilerServices\.)?InternalsVisibleTo\s*\(\s*"([^",]+)""")]
    private static partial Regex AssemblyFriend();

    [Fact]
    public void The_repositorys_projects_keep_their_layering()
    {
        var projects = Load(Repo.Root);
        // What the rules are applied to: every project of the solution, each parsed with its references.
        var solution = XDocument.Load(Path.Combine(Repo.Root, "hailo.slnx")).Descendants("Project")
            .Select(e => (string)e.Attribute("Path")!).Order(StringComparer.Ordinal).ToList();
        Assert.Equal(solution, projects.Select(p => p.Path).Order(StringComparer.Ordinal));
        // Every project under services/ is one of the Makefile's SERVICES or TOOLS (command-line programs such as hailoctl,
        // published and packaged but not services), and each of those has its project.
        string[] MakeList(string name) => File.ReadLines(Path.Combine(Repo.Root, "Makefile"))
            .First(l => l.StartsWith(name + " := ", StringComparison.Ordinal))[(name.Length + 4)..]
            .Split(' ', StringSplitOptions.RemoveEmptyEntries);
        var tools = MakeList("TOOLS");
        Assert.Equal(MakeList("SERVICES").Concat(tools).Order(StringComparer.Ordinal),
            projects.Where(p => p.IsService).Select(p => Path.GetFileNameWithoutExtension(p.Path)).Order(StringComparer.Ordinal));
        Assert.All(Leaves, leaf => Assert.Contains(leaf, solution));
        Assert.All(HostAgnostic, p => Assert.Contains(p, solution));
        // Services are hosted by Hailo.Hosting; a tool is not a service.
        Assert.All(projects.Where(p => p.IsService && !tools.Contains(Path.GetFileNameWithoutExtension(p.Path))),
            s => Assert.Contains("shared/Hailo.Hosting/Hailo.Hosting.csproj", s.References));
        Assert.Contains("Hailo.Runtime.Tests", projects.Single(p => p.Path == Leaves[0]).InternalsVisibleTo);

        Assert.Empty(Violations(projects));
    }

    [Fact]
    public void The_GenAI_core_uses_no_ASP_NET_Core()
    {
        var dir = Path.Combine(Repo.Root, "shared", "Hailo.GenAI");
        Assert.DoesNotContain("Microsoft.AspNetCore", File.ReadAllText(Path.Combine(dir, "Hailo.GenAI.csproj")));
        var sources = Directory.EnumerateFiles(dir, "*.cs", SearchOption.AllDirectories).Where(f => !IsBuildOutput(Repo.Root, Path.GetDirectoryName(f)!)).ToList();
        Assert.NotEmpty(sources);
        Assert.All(sources, f => Assert.DoesNotContain("Microsoft.AspNetCore", File.ReadAllText(f)));
        Assert.All(sources, f => Assert.DoesNotContain("Hailo.Hosting", File.ReadAllText(f)));
    }

    private static Project P(string path, string[]? references = null, string[]? friends = null) =>
        new(path, Path.GetFileNameWithoutExtension(path), references ?? [], friends ?? []);

    /// <summary>A small graph in the repository's shape, correct as given.</summary>
    private static List<Project> Sound() =>
    [
        P("shared/Hailo.Core/Hailo.Core.csproj"),
        P("shared/Hailo.Hosting/Hailo.Hosting.csproj", ["shared/Hailo.Core/Hailo.Core.csproj"]),
        P("shared/Hailo.Media/Hailo.Media.csproj", ["shared/Hailo.Core/Hailo.Core.csproj"]),
        P("shared/Hailo.Audio/Hailo.Audio.csproj", ["shared/Hailo.Core/Hailo.Core.csproj"]),
        P("shared/Hailo.Runtime.Npu/Hailo.Runtime.Npu.csproj", friends: ["Hailo.Runtime.Tests", "Hailo.TestSupport"]),
        P("shared/Hailo.Runtime.Onnx/Hailo.Runtime.Onnx.csproj"),
        P("shared/Hailo.Runtime/Hailo.Runtime.csproj", ["shared/Hailo.Hosting/Hailo.Hosting.csproj", "shared/Hailo.Runtime.Npu/Hailo.Runtime.Npu.csproj"]),
        new("services/hailo-a/hailo-a.csproj", "hailo-a", ["shared/Hailo.Runtime/Hailo.Runtime.csproj", "shared/Hailo.Runtime.Onnx/Hailo.Runtime.Onnx.csproj"], ["Hailo.A.Tests"]),
        new("services/hailo-b/hailo-b.csproj", "hailo-b", ["shared/Hailo.Hosting/Hailo.Hosting.csproj"], []),
        P("tests/Hailo.TestSupport/Hailo.TestSupport.csproj", ["shared/Hailo.Hosting/Hailo.Hosting.csproj", "shared/Hailo.Runtime.Npu/Hailo.Runtime.Npu.csproj"]),
        P("tests/Hailo.Runtime.Tests/Hailo.Runtime.Tests.csproj", ["shared/Hailo.Runtime.Npu/Hailo.Runtime.Npu.csproj", "tests/Hailo.TestSupport/Hailo.TestSupport.csproj"]),
        P("tests/Hailo.A.Tests/Hailo.A.Tests.csproj", ["services/hailo-a/hailo-a.csproj", "tests/Hailo.TestSupport/Hailo.TestSupport.csproj"]),
    ];

    private static List<Project> With(List<Project> graph, string path, string? addReference = null, string? addFriend = null)
    {
        var i = graph.FindIndex(p => p.Path == path);
        var p = graph[i];
        graph[i] = p with
        {
            References = addReference is null ? p.References : [.. p.References, addReference],
            InternalsVisibleTo = addFriend is null ? p.InternalsVisibleTo : [.. p.InternalsVisibleTo, addFriend],
        };
        return graph;
    }

    [Fact]
    public void A_sound_graph_has_no_violations() => Assert.Empty(Violations(Sound()));

    [Theory]
    [InlineData("services/hailo-a/hailo-a.csproj", "services/hailo-b/hailo-b.csproj", null, "service services/hailo-a/hailo-a.csproj references another service")]
    [InlineData("services/hailo-a/hailo-a.csproj", "tests/Hailo.TestSupport/Hailo.TestSupport.csproj", null, "production project services/hailo-a/hailo-a.csproj references the test project")]
    [InlineData("shared/Hailo.Runtime/Hailo.Runtime.csproj", "services/hailo-b/hailo-b.csproj", null, "shared project shared/Hailo.Runtime/Hailo.Runtime.csproj references the service")]
    [InlineData("shared/Hailo.Hosting/Hailo.Hosting.csproj", "tests/Hailo.A.Tests/Hailo.A.Tests.csproj", null, "production project shared/Hailo.Hosting/Hailo.Hosting.csproj references the test project")]
    [InlineData("shared/Hailo.Runtime.Npu/Hailo.Runtime.Npu.csproj", "shared/Hailo.Hosting/Hailo.Hosting.csproj", null, "shared/Hailo.Runtime.Npu/Hailo.Runtime.Npu.csproj must reference no project of ours")]
    [InlineData("shared/Hailo.Runtime.Onnx/Hailo.Runtime.Onnx.csproj", "shared/Hailo.Runtime.Npu/Hailo.Runtime.Npu.csproj", null, "shared/Hailo.Runtime.Onnx/Hailo.Runtime.Onnx.csproj must reference no project of ours")]
    [InlineData("shared/Hailo.Media/Hailo.Media.csproj", "shared/Hailo.Hosting/Hailo.Hosting.csproj", null, "shared/Hailo.Media/Hailo.Media.csproj must not depend on the HTTP host")]
    [InlineData("shared/Hailo.Audio/Hailo.Audio.csproj", "shared/Hailo.Runtime/Hailo.Runtime.csproj", null, "shared/Hailo.Audio/Hailo.Audio.csproj must not depend on the HTTP host")]
    [InlineData("shared/Hailo.Core/Hailo.Core.csproj", "shared/Hailo.Runtime.Npu/Hailo.Runtime.Npu.csproj", null, "shared/Hailo.Core/Hailo.Core.csproj must reference no project of ours")]
    [InlineData("services/hailo-b/hailo-b.csproj", "shared/Hailo.Gone/Hailo.Gone.csproj", null, "references shared/Hailo.Gone/Hailo.Gone.csproj, which is not a project of the repository")]
    [InlineData("shared/Hailo.Hosting/Hailo.Hosting.csproj", null, "Hailo.A.Tests", "makes its internals visible to tests/Hailo.A.Tests/Hailo.A.Tests.csproj, which tests a service")]
    [InlineData("shared/Hailo.Hosting/Hailo.Hosting.csproj", null, "hailo-a", "makes its internals visible to the service services/hailo-a/hailo-a.csproj")]
    [InlineData("shared/Hailo.Hosting/Hailo.Hosting.csproj", null, "Hailo.Renamed.Tests", "makes its internals visible to Hailo.Renamed.Tests, which is no project of the repository")]
    public void Each_broken_rule_is_reported(string project, string? reference, string? friend, string expected)
    {
        var violations = Violations(With(Sound(), project, reference, friend));
        Assert.Contains(violations, v => v.Contains(expected, StringComparison.Ordinal));
    }

    [Fact]
    public void Services_and_test_projects_may_show_their_internals_to_tests()
    {
        // hailo-a → Hailo.A.Tests is in the sound graph; a test project naming another test project is no concern either.
        var graph = With(Sound(), "tests/Hailo.TestSupport/Hailo.TestSupport.csproj", addFriend: "Hailo.A.Tests");
        Assert.Empty(Violations(graph));
    }

    [Fact]
    public void The_loader_reads_references_and_both_kinds_of_InternalsVisibleTo()
    {
        var root = Directory.CreateTempSubdirectory("hailo-graph-").FullName;
        try
        {
            Directory.CreateDirectory(Path.Combine(root, "services", "hailo-x"));
            Directory.CreateDirectory(Path.Combine(root, "shared", "Hailo.Y", "obj"));
            Directory.CreateDirectory(Path.Combine(root, "tests", "Hailo.X.Tests"));
            File.WriteAllText(Path.Combine(root, "services", "hailo-x", "hailo-x.csproj"), """
                <Project Sdk="Microsoft.NET.Sdk.Web">
                  <PropertyGroup><AssemblyName>hailo-x</AssemblyName></PropertyGroup>
                  <ItemGroup><ProjectReference Include="../../tests/Hailo.X.Tests/Hailo.X.Tests.csproj" /></ItemGroup>
                </Project>
                """);
            File.WriteAllText(Path.Combine(root, "shared", "Hailo.Y", "Hailo.Y.csproj"), """
                <Project Sdk="Microsoft.NET.Sdk">
                  <ItemGroup><InternalsVisibleTo Include="Hailo.X.Tests" /></ItemGroup>
                </Project>
                """);
            File.WriteAllText(Path.Combine(root, "shared", "Hailo.Y", "Info.cs"), "[assembly: System.Runtime.CompilerServices.InternalsVisibleTo(\"hailo-x\")]");
            File.WriteAllText(Path.Combine(root, "shared", "Hailo.Y", "obj", "Generated.cs"), "[assembly: InternalsVisibleTo(\"Ignored\")]");
            File.WriteAllText(Path.Combine(root, "tests", "Hailo.X.Tests", "Hailo.X.Tests.csproj"), """
                <Project Sdk="Microsoft.NET.Sdk">
                  <ItemGroup><ProjectReference Include="../../services/hailo-x/hailo-x.csproj" /></ItemGroup>
                </Project>
                """);

            var projects = Load(root).ToDictionary(p => p.Path);
            Assert.Equal(["tests/Hailo.X.Tests/Hailo.X.Tests.csproj"], projects["services/hailo-x/hailo-x.csproj"].References);
            Assert.Equal(["Hailo.X.Tests", "hailo-x"], projects["shared/Hailo.Y/Hailo.Y.csproj"].InternalsVisibleTo);
            var violations = Violations([.. projects.Values]);
            Assert.Equal(3, violations.Count);
            Assert.Contains(violations, v => v.Contains("services/hailo-x/hailo-x.csproj references the test project", StringComparison.Ordinal));
            Assert.Contains(violations, v => v.Contains("visible to tests/Hailo.X.Tests/Hailo.X.Tests.csproj, which tests a service", StringComparison.Ordinal));
            Assert.Contains(violations, v => v.Contains("visible to the service services/hailo-x/hailo-x.csproj", StringComparison.Ordinal));
        }
        finally
        {
            Directory.Delete(root, recursive: true);
        }
    }
}
