using System.Collections;
using System.Text.Json.Serialization.Metadata;
using Hailo.Hosting;
using Hailo.Hosting.Config;
using Hailo.TestSupport;
using HailoOcr;
using Xunit;
using YamlDotNet.RepresentationModel;

namespace Hailo.Ocr.Tests;

/// <summary>
/// services/hailo-ocr/hailo-ocr.yaml is installed as the conffile /etc/hailo/hailo-ocr.yaml by the .deb. It must
/// load through the real config loader, equal the built-in defaults, and spell out every key with a comment, so
/// the file and the code can never drift apart.
/// </summary>
public sealed class ShippedConfigTests
{
    private static readonly string ShippedFile = Path.Combine(Repo.Root, "services", "hailo-ocr", "hailo-ocr.yaml");

    private static OcrConfig Load(string path) =>
        ServiceHost.LoadConfig(OcrService.Definition, CommandLine.Parse(["--config", path]), new Hashtable());

    [Fact]
    public void The_shipped_config_loads_and_equals_the_built_in_defaults()
    {
        var shipped = Load(ShippedFile);
        var defaults = Load("/dev/null");
        Assert.Equal(ConfigLoader.ToYaml(defaults, OcrService.Definition.ConfigType), ConfigLoader.ToYaml(shipped, OcrService.Definition.ConfigType));
        // The default models directory keeps the fix for a missing model the short one the package documents.
        Assert.Equal("/var/lib/hailo-ocr/models", shipped.Models.Dir);
    }

    [Fact]
    public void The_shipped_config_names_every_settable_key_with_a_comment()
    {
        var text = File.ReadAllLines(ShippedFile);
        var stream = new YamlStream();
        using (var reader = new StreamReader(ShippedFile)) stream.Load(reader);
        var root = (YamlMappingNode)stream.Documents[0].RootNode;

        var expected = LeafKeys(OcrService.Definition.ConfigType, "").Order(StringComparer.Ordinal).ToList();
        var found = new List<string>();
        var uncommented = new List<string>();
        Walk(root, "", (key, keyNode) =>
        {
            found.Add(key);
            // Start.Line is 1-based; the comment sits on the key's own line.
            if (!text[keyNode.Start.Line - 1].Contains(" # ", StringComparison.Ordinal)) uncommented.Add(key);
        }, OcrService.Definition.ConfigType);

        Assert.Equal(expected, found.Order(StringComparer.Ordinal).ToList());
        Assert.Empty(uncommented);
    }

    /// <summary>Dotted paths of every key a config file can set (read-only properties such as cpu.effective_threads are not keys).</summary>
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
