using Hailo.GenAI.Chat;
using Xunit;

namespace Hailo.GenAI.Tests;

/// <summary>
/// What once crashed hailo-ollama, in the shared pieces: deeply nested Go templates (a stack overflow), malformed
/// templates, and keep_alive strings that broke the parser.
/// </summary>
public sealed class HardeningTests
{
    private static string NestedIfs(int depth) =>
        string.Concat(Enumerable.Repeat("{{if .Prompt}}", depth)) + "x" + string.Concat(Enumerable.Repeat("{{end}}", depth));

    [Fact]
    public void Fifty_thousand_nested_ifs_are_refused_not_a_stack_overflow()
    {
        // The recursive evaluator overflowed the stack here, which kills the process (no catch can stop it).
        var e = Assert.Throws<FormatException>(() => GoTemplate.Render(NestedIfs(50_000), new Dictionary<string, string> { ["Prompt"] = "p" }));
        Assert.Contains("longer than", e.Message);
        // Short enough to pass the length limit, too deep for the nesting limit.
        var deep = "{{if .A}}" + string.Concat(Enumerable.Repeat("{{if .A}}", GoTemplate.MaxDepth)) + string.Concat(Enumerable.Repeat("{{end}}", GoTemplate.MaxDepth + 1));
        Assert.True(deep.Length < GoTemplate.MaxLength);
        e = Assert.Throws<FormatException>(() => GoTemplate.Parse(deep));
        Assert.Contains($"nest more than {GoTemplate.MaxDepth} deep", e.Message);
        // The deepest nesting allowed renders.
        Assert.Equal("x", GoTemplate.Render(NestedIfs(GoTemplate.MaxDepth), new Dictionary<string, string> { ["Prompt"] = "p" }));
        Assert.Equal("", GoTemplate.Render(NestedIfs(GoTemplate.MaxDepth), new Dictionary<string, string>()));
    }

    [Theory]
    [InlineData("{{ if .System }}S={{ .System }};{{ else }}none;{{ end }}P={{ .Prompt }}", "sys", "S=sys;P=p")]
    [InlineData("{{ if .System }}S={{ .System }};{{ else }}none;{{ end }}P={{ .Prompt }}", "", "none;P=p")]
    [InlineData("{{ if .System }}a{{ if .Prompt }}b{{ else }}c{{ end }}d{{ else }}e{{ if .Prompt }}f{{ end }}{{ end }}!", "s", "abd!")]
    [InlineData("{{ if .System }}a{{ if .Prompt }}b{{ else }}c{{ end }}d{{ else }}e{{ if .Prompt }}f{{ end }}{{ end }}!", "", "ef!")]
    [InlineData("<s>  {{- .Prompt -}}  </s>{{/* note */}}", "", "<s>p</s>")]
    [InlineData("{{ .Response }}[{{ .Unknown }}]", "", "[]")]
    public void Templates_render_as_before(string template, string system, string expected) =>
        Assert.Equal(expected, GoTemplate.Render(template, new Dictionary<string, string> { ["System"] = system, ["Prompt"] = "p", ["Response"] = "" }));

    [Theory]
    [InlineData("{{ if .A }}x", "without {{ end }}")]
    [InlineData("x{{ end }}", "{{ end }} without {{ if }}")]
    [InlineData("{{ else }}", "{{ else }} without {{ if }}")]
    [InlineData("{{ if .A }}1{{ else }}2{{ else }}3{{ end }}", "{{ else }} without {{ if }}")]
    [InlineData("{{ if .A }}{{ range .Messages }}{{ end }}", "'{{ range .Messages }}' is not supported")]
    [InlineData("{{ .Prompt", "unclosed")]
    public void Malformed_templates_are_refused_whichever_branch_runs(string template, string message)
    {
        // The check covers every action, also those in a branch the values would not take.
        var e = Assert.Throws<FormatException>(() => GoTemplate.Render(template, new Dictionary<string, string>()));
        Assert.Contains(message, e.Message);
    }

    [Theory]
    [InlineData("1..5m")]
    [InlineData(".")]
    [InlineData("1.2.3s")]
    [InlineData("abc")]
    [InlineData("5x")]
    [InlineData("m")]
    [InlineData("NaN")]
    public void Keep_alive_strings_that_are_no_duration_parse_as_false_without_throwing(string s) =>
        Assert.False(KeepAliveValue.TryParse(s, out _)); // "1..5m" threw a FormatException: a 500

    [Fact]
    public void Keep_alive_go_durations_still_parse()
    {
        Assert.True(KeepAliveValue.TryParse("1.5h", out var v)); Assert.Equal(TimeSpan.FromMinutes(90), v);
        Assert.True(KeepAliveValue.TryParse(".5s", out v)); Assert.Equal(TimeSpan.FromMilliseconds(500), v);
        Assert.True(KeepAliveValue.TryParse("-1m", out v)); Assert.Equal(KeepAliveValue.Forever, v);
    }
}
