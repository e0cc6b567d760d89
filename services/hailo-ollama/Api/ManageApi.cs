using Hailo.Core;
using System.Security.Cryptography;
using System.Text.Json;
using Hailo.GenAI;
using Hailo.GenAI.Api;
using Hailo.Hosting.Http;
using Hailo.Hosting.Models;
using HailoOllama.Engine;
using HailoOllama.Gguf;
using Microsoft.AspNetCore.Http;

namespace HailoOllama.Api;

/// <summary>Model management: /api/pull, /api/delete, /api/copy, /api/create and /api/blobs/:digest.</summary>
internal sealed class ManageApi(OllamaEngine engine, NativeApi native, IHttpClientFactoryLite http)
{
    private ModelRegistry Registry => engine.Registry;

    public async Task PullAsync(HttpContext ctx)
    {
        using var doc = await RequestJson.ReadAsync(ctx.Request, ctx.RequestAborted);
        var r = doc.RootElement;
        var name = r.Model();
        var stream = r.Bool("stream") ?? true;
        var manifest = OllamaModels.Find(name, Registry.Backend)
                       ?? throw new ApiException(404, "model_not_found",
                           $"model '{Hailo.Core.ClientText.Quote(name)}' is not in this service's catalog for the {Registry.Backend.Name()} backend (known: {string.Join(", ", OllamaModels.Catalog.Where(m => m.Backend == Registry.Backend).Select(OllamaModels.OllamaName))}); import other GGUFs with /api/create") { Param = "model" };
        await OllamaPull.RunAsync(ctx, Registry.Store, manifest, name, stream, http.Client);
    }

    public async Task DeleteAsync(HttpContext ctx)
    {
        using var doc = await RequestJson.ReadAsync(ctx.Request, ctx.RequestAborted);
        var name = doc.RootElement.Model();
        _ = native.Resolve(name);
        engine.Scheduler.UnloadByName(name);
        if (!Registry.Delete(name)) throw Err.NotFound(name);
        ctx.Response.StatusCode = 200;
    }

    public async Task CopyAsync(HttpContext ctx)
    {
        using var doc = await RequestJson.ReadAsync(ctx.Request, ctx.RequestAborted);
        var source = native.Resolve(doc.RootElement.Model("source"));
        var destination = doc.RootElement.Model("destination");
        try { Registry.Save(source with { Name = destination, ModifiedAt = DateTime.UtcNow, ParentModel = source.Name }); }
        catch (FileNotFoundException e) { throw new ApiException(404, "not_found", e.Message); }
        ctx.Response.StatusCode = 200;
    }

    public async Task BlobHeadAsync(HttpContext ctx, string digest)
    {
        var hex = Hex(digest);
        ctx.Response.StatusCode = File.Exists(Registry.BlobPath(hex)) ? 200 : 404;
        if (ctx.Response.StatusCode == 404) throw new ApiException(404, "not_found", $"blob sha256:{hex} not found");
        await Task.CompletedTask;
    }

    private static string Hex(string digest)
    {
        var d = digest.StartsWith("sha256:", StringComparison.Ordinal) ? digest[7..] : digest.StartsWith("sha256-", StringComparison.Ordinal) ? digest[7..] : null;
        if (d is null || d.Length != 64 || !d.All(char.IsAsciiHexDigit))
            throw Err.Bad($"'{Hailo.Core.ClientText.Quote(digest)}' is not a digest (sha256:<64 hex digits>)", "digest");
        return d.ToLowerInvariant();
    }

    /// <summary>
    /// Stores the body as a blob when its sha256 is the digest in the path; else 400 and nothing is kept. The body goes
    /// to a temporary file, is checked and flushed, and is renamed into place: a blob on disk is always whole and
    /// verified. Uploads of the same blob at the same time all succeed (201): the first to finish puts it in place,
    /// the others find it there.
    /// </summary>
    public async Task BlobPostAsync(HttpContext ctx, string digest)
    {
        var hex = Hex(digest);
        Directory.CreateDirectory(Registry.BlobDir);
        var final = Registry.BlobPath(hex);
        if (File.Exists(final))
        {
            ctx.Response.StatusCode = 201;
            return;
        }
        var tmp = DurableFile.TempName(final);
        try
        {
            using var sha = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
            await using (var file = new FileStream(tmp, FileMode.CreateNew, FileAccess.Write, FileShare.None, 1 << 16, useAsync: true))
            {
                var buffer = new byte[1 << 16];
                int n;
                while ((n = await ctx.Request.Body.ReadAsync(buffer, ctx.RequestAborted)) > 0)
                {
                    sha.AppendData(buffer, 0, n);
                    await file.WriteAsync(buffer.AsMemory(0, n), ctx.RequestAborted);
                }
                file.Flush(flushToDisk: true);
            }
            var actual = Convert.ToHexStringLower(sha.GetHashAndReset());
            if (actual != hex) throw Err.Bad($"digest mismatch: the body's sha256 is {actual}, the path says {hex}", "digest");
            try
            {
                DurableFile.Commit(tmp, final, overwrite: false);
            }
            catch (IOException) when (File.Exists(final))
            {
                // Another upload of the same blob finished first; it holds the same verified bytes.
            }
            ctx.Response.StatusCode = 201;
        }
        finally
        {
            if (File.Exists(tmp)) File.Delete(tmp);
        }
    }

    /// <summary>
    /// Ollama's import: "files" ({"name.gguf": "sha256:…"} of uploaded blobs) or "from" (an existing model or a blob),
    /// plus "system", "template", "parameters". Progress streams as status lines.
    /// </summary>
    public async Task CreateAsync(HttpContext ctx)
    {
        using var doc = await RequestJson.ReadAsync(ctx.Request, ctx.RequestAborted);
        var r = doc.RootElement;
        var name = r.Model();
        var stream = r.Bool("stream") ?? true;
        LocalModel? baseModel = null;
        string? path = null;
        string? digest = null;
        if (r.TryGetProperty("files", out var files) && files.ValueKind != JsonValueKind.Null)
        {
            if (files.ValueKind != JsonValueKind.Object) throw Err.Bad("'files' must be an object of file name → sha256 digest", "files");
            var ggufs = files.EnumerateObject().Where(f => f.Name.EndsWith(".gguf", StringComparison.OrdinalIgnoreCase)).ToList();
            if (ggufs.Count != 1) throw Err.Bad("'files' must name exactly one .gguf file (adapters and safetensors are not supported)", "files");
            if (ggufs[0].Value.ValueKind != JsonValueKind.String) throw Err.Bad("'files' values must be digests", "files");
            digest = Hex(ggufs[0].Value.GetString()!);
            path = Registry.BlobPath(digest);
            if (!File.Exists(path)) throw Err.Bad($"blob sha256:{digest} for {ggufs[0].Name} has not been uploaded (POST /api/blobs/sha256:{digest})", "files");
        }
        else if (r.Str("from") is { Length: > 0 } from)
        {
            if (from.StartsWith("sha256:", StringComparison.Ordinal))
            {
                digest = Hex(from);
                path = Registry.BlobPath(digest);
                if (!File.Exists(path)) throw Err.Bad($"blob {from} has not been uploaded", "from");
            }
            else
            {
                if (!ModelName.TryNormalise(from, out var fromName)) throw Err.Bad($"'{Hailo.Core.ClientText.Quote(from)}' is not a model name", "from");
                baseModel = native.Resolve(fromName);
            }
        }
        else throw Err.Bad("name the weights: 'from' (a model or sha256:digest) or 'files' (uploaded blobs)", "from");

        if (path is not null)
        {
            await using var s = File.OpenRead(path);
            if (!GgufInfo.LooksLikeGguf(s)) throw Err.Bad("the uploaded file is not a GGUF model", "files");
            if (Registry.Backend != Backend.Cpu) throw Err.Bad("GGUF models run on the CPU backend; this service runs on the NPU (device: npu)", "files");
        }
        var template = r.Str("template");
        if (template is not null)
        {
            try { Hailo.GenAI.Chat.GoTemplate.Render(template, new Dictionary<string, string>()); }
            catch (FormatException e) { throw Err.Bad(e.Message, "template"); }
        }
        Dictionary<string, JsonElement>? parameters = baseModel?.Parameters is { } bp ? new(bp) : null;
        if (r.TryGetProperty("parameters", out var ps) && ps.ValueKind != JsonValueKind.Null)
        {
            if (ps.ValueKind != JsonValueKind.Object) throw Err.Bad("'parameters' must be an object", "parameters");
            _ = RequestJson.Options(ps.Clone(), null, engine.Config.Ollama.MaxNumCtx); // validates the values
            parameters ??= [];
            foreach (var p in ps.EnumerateObject()) parameters[p.Name] = p.Value.Clone();
        }
        var model = new LocalModel
        {
            Name = name,
            Backend = baseModel?.Backend ?? Backend.Cpu,
            Path = baseModel?.Path ?? path!,
            Digest = baseModel?.Digest ?? digest,
            Template = template ?? baseModel?.Template,
            System = r.Str("system") ?? baseModel?.System,
            Parameters = parameters,
            ModifiedAt = DateTime.UtcNow,
            ParentModel = baseModel?.Name,
        };
        try { Registry.Save(model); }
        catch (FileNotFoundException e) { throw Err.Bad(e.Message, "files"); }
        engine.Scheduler.UnloadByName(name);
        if (stream)
        {
            ctx.Response.ContentType = "application/x-ndjson";
            foreach (var s in (string[])["parsing model", "using existing layer", "writing manifest", "success"])
                await JsonOut.LineAsync(ctx.Response, w => w.WriteString("status", s), ctx.RequestAborted);
        }
        else await JsonOut.SingleAsync(ctx.Response, w => w.WriteString("status", "success"), ctx.RequestAborted);
    }
}
