using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.Json.Serialization.Metadata;
using YamlDotNet.Core;
using YamlDotNet.RepresentationModel;

namespace Hailo.Hosting.Config;

/// <summary>One key set from outside the YAML file: an environment variable or a command-line option.</summary>
public readonly record struct ConfigOverride(string Key, string Value, string Origin);

/// <summary>
/// Builds a service's config from its defaults, then the YAML file, then environment variables, then
/// the command line. Binding is driven by the source-generated JSON metadata of the config type, so it
/// is AOT-clean, reports unknown keys (with a suggestion) and ill-typed values with their location.
/// </summary>
public static class ConfigLoader
{
    public static T Load<T>(T defaults, JsonTypeInfo<T> typeInfo, string? yamlPath, bool yamlRequired,
        IEnumerable<ConfigOverride> overrides) where T : ServiceConfig
    {
        var errors = new ConfigErrors();
        var root = (JsonObject)JsonSerializer.SerializeToNode(defaults, typeInfo)!;

        if (yamlPath is not null)
        {
            if (File.Exists(yamlPath)) MergeYamlFile(root, typeInfo, yamlPath, errors);
            else if (yamlRequired) errors.AddRaw($"config file '{yamlPath}' does not exist");
        }
        foreach (var o in overrides) SetOverride(root, typeInfo, o, errors);
        if (errors.Any) throw new ConfigException(errors.Messages);

        T config;
        try
        {
            config = root.Deserialize(typeInfo) ?? throw new ConfigException(["config is empty"]);
        }
        catch (JsonException e)
        {
            throw new ConfigException([$"{e.Path}: {e.Message}"]);
        }
        config.Validate(errors);
        if (errors.Any) throw new ConfigException(errors.Messages);
        return config;
    }

    /// <summary>Environment variables PREFIX_SECTION__KEY=value become overrides of section.key.</summary>
    public static IEnumerable<ConfigOverride> FromEnvironment(string prefix, System.Collections.IDictionary env, params string[] reserved)
    {
        var list = new List<ConfigOverride>();
        foreach (System.Collections.DictionaryEntry e in env)
        {
            var name = (string)e.Key;
            if (!name.StartsWith(prefix, StringComparison.Ordinal) || Array.IndexOf(reserved, name) >= 0) continue;
            var key = string.Join('.', name[prefix.Length..].Split("__").Select(s => s.ToLowerInvariant()));
            list.Add(new ConfigOverride(key, (string?)e.Value ?? "", $"environment variable {name}"));
        }
        list.Sort((a, b) => string.CompareOrdinal(a.Key, b.Key));
        return list;
    }

    /// <summary>Renders a config as YAML, e.g. for --print-config.</summary>
    public static string ToYaml<T>(T config, JsonTypeInfo<T> typeInfo)
    {
        var node = JsonSerializer.SerializeToNode(config, typeInfo)!;
        var stream = new YamlStream(new YamlDocument(ToYamlNode(node)));
        using var w = new StringWriter(CultureInfo.InvariantCulture);
        stream.Save(w, assignAnchors: false);
        var text = w.ToString();
        return text.EndsWith("...\n", StringComparison.Ordinal) ? text[..^4] : text;
    }

    private static YamlNode ToYamlNode(JsonNode? node) => node switch
    {
        JsonObject o => new YamlMappingNode(o.Select(kv => new KeyValuePair<YamlNode, YamlNode>(new YamlScalarNode(kv.Key), ToYamlNode(kv.Value)))),
        JsonArray a => new YamlSequenceNode(a.Select(ToYamlNode)),
        null => new YamlScalarNode("null"),
        JsonValue v when v.GetValueKind() == JsonValueKind.String => new YamlScalarNode(v.GetValue<string>()) { Style = ScalarStyle.DoubleQuoted },
        _ => new YamlScalarNode(node.ToJsonString()),
    };

    private static void MergeYamlFile(JsonObject root, JsonTypeInfo info, string path, ConfigErrors errors)
    {
        var stream = new YamlStream();
        try
        {
            using var reader = new StreamReader(path);
            stream.Load(reader);
        }
        catch (YamlException e)
        {
            errors.AddRaw($"{path}:{e.Start.Line}:{e.Start.Column}: YAML syntax error: {e.InnerException?.Message ?? e.Message}");
            return;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            errors.AddRaw($"cannot read config file '{path}': {e.Message}");
            return;
        }
        if (stream.Documents.Count == 0) return; // an empty file keeps the defaults
        var doc = stream.Documents[0].RootNode;
        if (doc is YamlScalarNode { Value: null or "" or "~" or "null" }) return;
        if (doc is not YamlMappingNode map)
        {
            errors.AddRaw($"{path}:{doc.Start.Line}:{doc.Start.Column}: the top level must be a mapping of keys to values");
            return;
        }
        MergeMapping(root, map, info, "", path, errors);
    }

    private static void MergeMapping(JsonObject target, YamlMappingNode map, JsonTypeInfo info, string prefix, string file, ConfigErrors errors)
    {
        foreach (var (keyNode, valueNode) in map.Children)
        {
            var key = (keyNode as YamlScalarNode)?.Value ?? "";
            var where = $"{file}:{keyNode.Start.Line}:{keyNode.Start.Column}: {prefix}{key}";
            if (info.Kind == JsonTypeInfoKind.Dictionary)
            {
                var valueInfo = info.Options.GetTypeInfo(info.ElementType!);
                target[key] = FromYaml(valueNode, valueInfo, target[key], $"{prefix}{key}", file, errors);
                continue;
            }
            var prop = FindProperty(info, key);
            if (prop is null)
            {
                errors.AddRaw($"{where}: unknown key{Suggest(info, key)}");
                continue;
            }
            var propInfo = info.Options.GetTypeInfo(prop.PropertyType);
            target[key] = FromYaml(valueNode, propInfo, target[key], $"{prefix}{key}", file, errors);
        }
    }

    private static JsonNode? FromYaml(YamlNode node, JsonTypeInfo info, JsonNode? existing, string key, string file, ConfigErrors errors)
    {
        var where = $"{file}:{node.Start.Line}:{node.Start.Column}: {key}";
        switch (info.Kind)
        {
            case JsonTypeInfoKind.Object or JsonTypeInfoKind.Dictionary:
                if (node is YamlScalarNode { Value: null or "" or "~" or "null" }) return existing; // "section:" with nothing under it
                if (node is not YamlMappingNode m)
                {
                    errors.AddRaw($"{where}: expected a section of keys{KeysHint(info)}");
                    return existing;
                }
                var obj = existing as JsonObject ?? [];
                MergeMapping(obj, m, info, key + ".", file, errors);
                return obj;
            case JsonTypeInfoKind.Enumerable:
                var elementInfo = info.Options.GetTypeInfo(info.ElementType!);
                var arr = new JsonArray();
                if (node is YamlSequenceNode seq)
                {
                    var i = 0;
                    foreach (var item in seq.Children) arr.Add(FromYaml(item, elementInfo, null, $"{key}[{i++}]", file, errors));
                }
                else if (node is YamlScalarNode s && elementInfo.Kind == JsonTypeInfoKind.None)
                {
                    if (s.Value is not (null or "" or "~" or "null")) arr.Add(FromScalar(s.Value, s.Style != ScalarStyle.Plain, elementInfo.Type, where, errors));
                }
                else errors.AddRaw($"{where}: expected a list");
                return arr;
            default:
                if (node is not YamlScalarNode scalar)
                {
                    errors.AddRaw($"{where}: expected a single value, not a {(node is YamlSequenceNode ? "list" : "section")}");
                    return existing;
                }
                return FromScalar(scalar.Value ?? "", scalar.Style != ScalarStyle.Plain, info.Type, where, errors);
        }
    }

    private static void SetOverride(JsonObject root, JsonTypeInfo rootInfo, ConfigOverride o, ConfigErrors errors)
    {
        var segments = o.Key.Split('.', StringSplitOptions.None);
        JsonObject target = root;
        JsonTypeInfo info = rootInfo;
        for (var i = 0; i < segments.Length; i++)
        {
            var seg = segments[i];
            var sofar = string.Join('.', segments[..(i + 1)]);
            JsonTypeInfo childInfo;
            if (info.Kind == JsonTypeInfoKind.Dictionary)
                childInfo = info.Options.GetTypeInfo(info.ElementType!);
            else
            {
                var prop = FindProperty(info, seg);
                if (prop is null)
                {
                    errors.AddRaw($"{o.Origin}: unknown key '{sofar}'{Suggest(info, seg)}");
                    return;
                }
                childInfo = info.Options.GetTypeInfo(prop.PropertyType);
            }
            var last = i == segments.Length - 1;
            if (!last)
            {
                if (childInfo.Kind is not (JsonTypeInfoKind.Object or JsonTypeInfoKind.Dictionary))
                {
                    errors.AddRaw($"{o.Origin}: '{sofar}' is a single value and has no key '{segments[i + 1]}'");
                    return;
                }
                if (target[seg] is not JsonObject next) target[seg] = next = [];
                target = next;
                info = childInfo;
                continue;
            }
            var where = $"{o.Origin}: {o.Key}";
            switch (childInfo.Kind)
            {
                case JsonTypeInfoKind.Object or JsonTypeInfoKind.Dictionary:
                    errors.AddRaw($"{where}: is a section; set one of its keys{KeysHint(childInfo)}");
                    return;
                case JsonTypeInfoKind.Enumerable:
                    var elem = childInfo.Options.GetTypeInfo(childInfo.ElementType!);
                    if (elem.Kind != JsonTypeInfoKind.None)
                    {
                        errors.AddRaw($"{where}: cannot be set from the environment or command line; use the config file");
                        return;
                    }
                    var arr = new JsonArray();
                    foreach (var part in o.Value.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
                        arr.Add(FromScalar(part, true, elem.Type, where, errors));
                    target[seg] = arr;
                    return;
                default:
                    target[seg] = FromScalar(o.Value, true, childInfo.Type, where, errors);
                    return;
            }
        }
    }

    private static JsonNode? FromScalar(string text, bool quoted, Type type, string where, ConfigErrors errors)
    {
        var underlying = Nullable.GetUnderlyingType(type);
        if (underlying is not null && !quoted && text is "" or "~" or "null") return null;
        var t = underlying ?? type;
        if (t == typeof(string)) return JsonValue.Create(text);
        if (t == typeof(bool))
        {
            switch (text.ToLowerInvariant())
            {
                case "true" or "yes" or "on" or "1": return JsonValue.Create(true);
                case "false" or "no" or "off" or "0": return JsonValue.Create(false);
            }
            errors.AddRaw($"{where}: '{text}' is not true or false");
            return null;
        }
        if (t == typeof(int))
        {
            if (int.TryParse(text, NumberStyles.Integer, CultureInfo.InvariantCulture, out var v)) return JsonValue.Create(v);
            errors.AddRaw($"{where}: '{text}' is not a whole number");
            return null;
        }
        if (t == typeof(long))
        {
            if (long.TryParse(text, NumberStyles.Integer, CultureInfo.InvariantCulture, out var v)) return JsonValue.Create(v);
            errors.AddRaw($"{where}: '{text}' is not a whole number");
            return null;
        }
        if (t == typeof(double) || t == typeof(float))
        {
            if (double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out var v) && double.IsFinite(v)) return JsonValue.Create(v);
            errors.AddRaw($"{where}: '{text}' is not a number");
            return null;
        }
        errors.AddRaw($"{where}: values of type {t.Name} are not supported in config");
        return null;
    }

    private static JsonPropertyInfo? FindProperty(JsonTypeInfo info, string key)
    {
        foreach (var p in info.Properties)
            if (p.Name == key) return p;
        return null;
    }

    private static string KeysHint(JsonTypeInfo info) =>
        info.Kind == JsonTypeInfoKind.Object ? $" ({string.Join(", ", info.Properties.Select(p => p.Name))})" : "";

    private static string Suggest(JsonTypeInfo info, string key)
    {
        if (info.Kind != JsonTypeInfoKind.Object) return "";
        string? best = null;
        var bestDistance = int.MaxValue;
        foreach (var p in info.Properties)
        {
            var d = Distance(key, p.Name);
            if (d < bestDistance) (best, bestDistance) = (p.Name, d);
        }
        var known = string.Join(", ", info.Properties.Select(p => p.Name));
        return best is not null && bestDistance <= Math.Max(2, key.Length / 3)
            ? $" (did you mean '{best}'? known keys: {known})"
            : $" (known keys: {known})";
    }

    private static int Distance(string a, string b)
    {
        var prev = new int[b.Length + 1];
        var cur = new int[b.Length + 1];
        for (var j = 0; j <= b.Length; j++) prev[j] = j;
        for (var i = 1; i <= a.Length; i++)
        {
            cur[0] = i;
            for (var j = 1; j <= b.Length; j++)
                cur[j] = Math.Min(Math.Min(cur[j - 1] + 1, prev[j] + 1), prev[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1));
            (prev, cur) = (cur, prev);
        }
        return prev[b.Length];
    }
}
