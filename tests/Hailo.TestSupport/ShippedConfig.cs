using System.Collections;
using System.Text.Json.Serialization.Metadata;
using Hailo.Hosting;
using Hailo.Hosting.Config;
using Xunit;
using YamlDotNet.RepresentationModel;

namespace Hailo.TestSupport;

/// <summary>
/// Checks a service's shipped YAML (the package's conffile /etc/hailo/&lt;service&gt;.yaml): it loads through the real
/// config loader, equals the built-in defaults, and names every settable key with a comment on its line.
/// </summary>
public static class ShippedConfig
{
    public static void AssertEqualsDefaults<TConfig>(ServiceDefinition<TConfig> definition) where TConfig : ServiceConfig
    {
        var file = FileOf(definition);
        var shipped = ServiceHost.LoadConfig(definition, CommandLine.Parse(["--config", file]), new Hashtable());
        var defaults = ServiceHost.LoadConfig(definition, CommandLine.Parse(["--config", "/dev/null"]), new Hashtable());
        Assert.Equal(ConfigLoader.ToYaml(defaults, definition.ConfigType), ConfigLoader.ToYaml(shipped, definition.ConfigType));
        Assert.Equal($"/var/lib/{definition.Name}/models", shipped.Models.Dir);
    }

    public static void AssertEveryKeyCommented<TConfig>(ServiceDefinition<TConfig> definition) where TConfig : ServiceConfig
    {
        var file = FileOf(definition);
        var text = File.ReadAllLines(file);
        var stream = new YamlStream();
        using (var reader = new StreamReader(file)) stream.Load(reader);
        var root = (YamlMappingNode)stream.Documents[0].RootNode;
        var expected = LeafKeys(definition.ConfigType, "").Order(StringComparer.Ordinal).ToList();
        var found = new List<string>();
        var uncommented = new List<string>();
        Walk(root, "", (key, keyNode) =>
        {
            found.Add(key);
            if (!text[keyNode.Start.Line - 1].Contains(" # ", StringComparison.Ordinal)) uncommented.Add(key);
        }, definition.ConfigType);
        Assert.Equal(expected, found.Order(StringComparer.Ordinal).ToList());
        Assert.Empty(uncommented);
    }

    private static string FileOf<TConfig>(ServiceDefinition<TConfig> d) where TConfig : ServiceConfig =>
        Path.Combine(Repo.Root, "services", d.Name, d.Name + ".yaml");

    /// <summary>Dotted paths of every key a config file can set (read-only properties are not keys).</summary>
    private static IEnumerable<string> LeafKeys(JsonTypeInfo info, string prefix)
    {
        foreach (var p in info.Properties)
        {
            if (p.Set is null) continue;
            var child = info.Options.GetTypeInfo(p.PropertyType);
            if (child.Kind == JsonTypeInfoKind.Object)
                foreach (var k in LeafKeys(child, prefix + p.Name + ".")) yield return k;
            else yield return prefix + p.Name;
        }
    }

    private static void Walk(YamlMappingNode map, string prefix, Action<string, YamlNode> leaf, JsonTypeInfo info)
    {
        foreach (var (keyNode, value) in map.Children)
        {
            var name = ((YamlScalarNode)keyNode).Value!;
            var prop = info.Properties.FirstOrDefault(p => p.Name == name);
            Assert.True(prop is not null, $"{prefix}{name} is not a config key");
            var child = info.Options.GetTypeInfo(prop!.PropertyType);
            if (child.Kind == JsonTypeInfoKind.Object) Walk((YamlMappingNode)value, prefix + name + ".", leaf, child);
            else leaf(prefix + name, keyNode);
        }
    }
}
