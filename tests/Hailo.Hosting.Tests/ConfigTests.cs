using System.Collections;
using Hailo.Hosting.Config;
using Xunit;

namespace Hailo.Hosting.Tests;

public sealed class ConfigTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("hailo-cfg").FullName;
    private static readonly ServiceDefinition<TestConfig> Def = TestService.Create(new FakeModelControl());

    public void Dispose() => Directory.Delete(_dir, true);

    private string Yaml(string text)
    {
        var path = Path.Combine(_dir, $"c{Guid.NewGuid():N}.yaml");
        File.WriteAllText(path, text);
        return path;
    }

    private static TestConfig Load(string[] args, IDictionary? env = null) =>
        ServiceHost.LoadConfig(Def, CommandLine.Parse(args), env ?? new Hashtable());

    private static ConfigException Fails(string[] args, IDictionary? env = null) =>
        Assert.Throws<ConfigException>(() => Load(args, env));

    [Fact]
    public void Defaults_apply_when_the_default_file_is_absent()
    {
        var c = Load([]);
        Assert.Equal("127.0.0.1", c.Server.Host);
        Assert.Equal(18080, c.Server.Port);
        Assert.Equal("/var/lib/hailo-test/models", c.Models.Dir);
        Assert.Equal(Hailo.Core.Backend.Auto, c.Device);
        Assert.Equal("auto", c.DeviceName);
        Assert.Equal("hello", c.Test.Greeting);
    }

    [Theory]
    [InlineData("npu", Hailo.Core.Backend.Npu)]
    [InlineData("cpu", Hailo.Core.Backend.Cpu)]
    [InlineData("auto", Hailo.Core.Backend.Auto)]
    public void Device_is_parsed_once_into_the_backend_and_printed_as_written(string name, Hailo.Core.Backend backend)
    {
        var fromFile = Load(["--config", Yaml($"device: {name}\n")]);
        Assert.Equal((backend, name), (fromFile.Device, fromFile.DeviceName));
        Assert.Equal(backend, Load(["--device", name]).Device);
        Assert.Contains($"device: \"{name}\"", ConfigLoader.ToYaml(fromFile, Def.ConfigType), StringComparison.Ordinal);
    }

    [Fact]
    public void File_then_environment_then_command_line_win_in_that_order()
    {
        var path = Yaml("""
            server:
              port: 9000
              host: 0.0.0.0
            test:
              greeting: from-file
              count: 5
              names: [x, y]
            """);
        var env = new Hashtable { ["HAILO_TEST_SERVER__PORT"] = "9100", ["HAILO_TEST_TEST__COUNT"] = "6", ["UNRELATED"] = "1" };
        var c = Load(["--config", path, "--port", "9200", "--test.ratio=0.25"], env);
        Assert.Equal(9200, c.Server.Port);          // CLI beats env and file
        Assert.Equal(6, c.Test.Count);              // env beats file
        Assert.Equal("from-file", c.Test.Greeting); // file beats default
        Assert.Equal("0.0.0.0", c.Server.Host);
        Assert.Equal(0.25, c.Test.Ratio);
        Assert.Equal(["x", "y"], c.Test.Names);
    }

    [Fact]
    public void Environment_names_the_config_file_and_lists_split_on_commas()
    {
        var path = Yaml("test:\n  flag: yes\n");
        var c = Load([], new Hashtable { ["HAILO_TEST_CONFIG"] = path, ["HAILO_TEST_TEST__NAMES"] = "p, q ,r" });
        Assert.True(c.Test.Flag);
        Assert.Equal(["p", "q", "r"], c.Test.Names);
    }

    [Fact]
    public void Quoted_numbers_stay_strings_and_plain_scalars_bind_by_type()
    {
        var c = Load(["--config", Yaml("server:\n  auth_token: \"12345\"\ntest:\n  greeting: 42\n  map:\n    en: ocr.hef\n")]);
        Assert.Equal("12345", c.Server.AuthToken);
        Assert.Equal("42", c.Test.Greeting);
        Assert.Equal("ocr.hef", c.Test.Map["en"]);
    }

    [Fact]
    public void Unknown_key_is_reported_with_its_line_and_a_suggestion()
    {
        var e = Fails(["--config", Yaml("server:\n  prot: 1\n")]);
        var msg = Assert.Single(e.Problems);
        Assert.Contains(":2:3: server.prot: unknown key", msg);
        Assert.Contains("did you mean 'port'", msg);
    }

    [Fact]
    public void Every_problem_is_reported_at_once()
    {
        var e = Fails(["--config", Yaml("server:\n  port: abc\n  hots: x\ntest:\n  flag: maybe\n  count: [1]\nbogus: 1\n")]);
        Assert.Equal(5, e.Problems.Count);
        Assert.Contains(e.Problems, p => p.Contains(":7:1: bogus: unknown key"));
        Assert.Contains(e.Problems, p => p.Contains("server.port: 'abc' is not a whole number"));
        Assert.Contains(e.Problems, p => p.Contains("server.hots: unknown key") && p.Contains("did you mean 'host'"));
        Assert.Contains(e.Problems, p => p.Contains("test.flag: 'maybe' is not true or false"));
        Assert.Contains(e.Problems, p => p.Contains("test.count: expected a single value, not a list"));
    }

    [Fact]
    public void Range_validation_runs_after_binding()
    {
        var e = Fails(["--port", "70000", "--device", "gpu", "--test.count", "-1", "--server.host", "not-an-ip"]);
        Assert.Contains(e.Problems, p => p.StartsWith("server.port: 70000 is not a TCP port", StringComparison.Ordinal));
        Assert.Contains(e.Problems, p => p.StartsWith("device: 'gpu' is not one of: auto, npu, cpu", StringComparison.Ordinal));
        Assert.Contains(e.Problems, p => p == "test.count: must not be negative");
        Assert.Contains(e.Problems, p => p.StartsWith("server.host: 'not-an-ip' is not an IP address", StringComparison.Ordinal));
    }

    [Fact]
    public void Unknown_environment_and_command_line_keys_are_errors()
    {
        var e = Fails(["--test.greting", "x"], new Hashtable { ["HAILO_TEST_SERVR__PORT"] = "1" });
        Assert.Contains(e.Problems, p => p.Contains("environment variable HAILO_TEST_SERVR__PORT: unknown key 'servr'") && p.Contains("did you mean 'server'"));
        Assert.Contains(e.Problems, p => p.Contains("command-line option --test.greting: unknown key 'test.greting'") && p.Contains("did you mean 'greeting'"));
    }

    [Fact]
    public void Sections_cannot_be_set_from_a_single_value()
    {
        var e = Fails(["--server", "x"]);
        Assert.Contains("is a section", Assert.Single(e.Problems));
    }

    [Fact]
    public void Missing_explicit_file_and_yaml_syntax_errors_are_reported()
    {
        Assert.Contains("does not exist", Assert.Single(Fails(["--config", Path.Combine(_dir, "nope.yaml")]).Problems));
        var syntax = Assert.Single(Fails(["--config", Yaml("server:\n  port: [1\n")]).Problems);
        Assert.Contains("YAML syntax error", syntax);
        var notMap = Assert.Single(Fails(["--config", Yaml("- a\n- b\n")]).Problems);
        Assert.Contains("top level must be a mapping", notMap);
    }

    [Fact]
    public void Empty_file_and_empty_sections_keep_defaults()
    {
        Assert.Equal(18080, Load(["--config", Yaml("")]).Server.Port);
        Assert.Equal(18080, Load(["--config", Yaml("server:\n")]).Server.Port);
    }

    [Fact]
    public void Command_line_parsing_rejects_what_it_does_not_understand()
    {
        Assert.Contains("unknown command 'serve'", Assert.Single(Assert.Throws<ConfigException>(() => CommandLine.Parse(["serve"])).Problems));
        Assert.Contains("--port needs a value", Assert.Single(Assert.Throws<ConfigException>(() => CommandLine.Parse(["--port"])).Problems));
        Assert.Contains("--set expects key=value", Assert.Single(Assert.Throws<ConfigException>(() => CommandLine.Parse(["--set", "x"])).Problems));
        var pull = CommandLine.Parse(["pull", "m1", "m2", "--models-dir", "/tmp/x"]);
        Assert.Equal("pull", pull.Command);
        Assert.Equal(["m1", "m2"], pull.Arguments);
        Assert.Equal("models.dir", Assert.Single(pull.Overrides).Key);
    }

    [Fact]
    public void Printed_config_loads_back_to_the_same_values()
    {
        var c = Load(["--port", "9999", "--test.names", "u,v", "--server.auth_token", "007"]);
        var yaml = ConfigLoader.ToYaml(c, Def.ConfigType);
        var again = Load(["--config", Yaml(yaml)]);
        Assert.Equal(9999, again.Server.Port);
        Assert.Equal(["u", "v"], again.Test.Names);
        Assert.Equal("007", again.Server.AuthToken);
    }
}
