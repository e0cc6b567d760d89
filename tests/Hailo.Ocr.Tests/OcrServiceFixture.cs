using Hailo.Hosting.Models;
using Hailo.TestSupport;
using HailoOcr;
using Xunit;

namespace Hailo.Ocr.Tests;

/// <summary>One hailo-ocr instance with the real PP-OCRv4 models, shared by the tests of a collection.</summary>
public sealed class OcrServiceFixture : IAsyncLifetime
{
    private RunningService? _service;
    public RunningService Service => _service ?? throw new InvalidOperationException("not started");
    public HttpClient Client => Service.Client;

    public static void RequireModels()
    {
        var store = new ModelStore(Repo.ModelsDir, [], OcrModels.Catalog);
        var loc = store.Locate(OcrModels.PaddleOcrV4);
        if (!loc.Complete)
            throw new InvalidOperationException($"the OCR test models are missing from {Repo.ModelsDir} ({string.Join(", ", loc.Missing)}); run `make models` first");
    }

    public async Task InitializeAsync()
    {
        RequireModels();
        var config = new OcrConfig();
        config.Models.Dir = Repo.ModelsDir;
        config.Models.SearchPaths = [];
        config.Cpu.Threads = 2;
        _service = await RunningService.StartAsync(OcrService.Definition, config);
        await _service.StartupCompleted;
    }

    public async Task DisposeAsync()
    {
        if (_service is not null) await _service.DisposeAsync();
    }
}

[CollectionDefinition("ocr-service")]
public sealed class OcrServiceCollection : ICollectionFixture<OcrServiceFixture>;
