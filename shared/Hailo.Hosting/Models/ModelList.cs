using Hailo.Core;

namespace Hailo.Hosting.Models;

/// <summary>GET /v1/models of the vision services: every model the service knows, its backend and state.</summary>
public sealed record ModelList(string Object, IReadOnlyList<ModelListEntry> Data)
{
    /// <summary>The catalog with each model's state: the slot's state when it has one, else available or missing on disk.</summary>
    public static ModelList From(ModelStore store, ServiceState state, string? task = null)
    {
        var states = state.Models.ToDictionary(m => m.Name);
        return new ModelList("list", store.Catalog.Select(m =>
        {
            var status = states.TryGetValue(m.Name, out var s) ? s.State.ToString().ToLowerInvariant() : store.Locate(m).Complete ? "available" : "missing";
            return new ModelListEntry(m.Name, "model", m.Backend.Name(), status, m.Description, m.Files.Select(f => f.Name).ToArray(), task, task is null ? null : "hailo", m.Verified);
        }).ToArray());
    }
}

/// <summary>
/// One model: OpenAI-style id/object plus backend, state, description and files (task and owner as the earlier API had
/// them); verified is false when the catalog pins no sha256 for a file, so a download of it is not checked.
/// </summary>
public sealed record ModelListEntry(string Id, string Object, string Backend, string Status, string Description, IReadOnlyList<string> Files,
    string? Task = null, string? OwnedBy = null, bool Verified = true);
