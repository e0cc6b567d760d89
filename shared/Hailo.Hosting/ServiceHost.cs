using Hailo.Core;
using System.Net;
using System.Text.Json.Serialization.Metadata;
using Hailo.Hosting.Config;
using Hailo.Hosting.Http;
using Hailo.Hosting.Metrics;
using Hailo.Hosting.Models;
using Hailo.Hosting.Systemd;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace Hailo.Hosting;

/// <summary>Everything that makes one service: its name and port, its config type, its models and endpoints.</summary>
public sealed class ServiceDefinition<TConfig> where TConfig : ServiceConfig
{
    public required string Name { get; init; }
    public required int DefaultPort { get; init; }
    public required string Summary { get; init; }
    public required JsonTypeInfo<TConfig> ConfigType { get; init; }
    public required Func<TConfig> Defaults { get; init; }
    /// <summary>Models this service can pull and load (all backends).</summary>
    public IReadOnlyList<ModelManifest> Catalog { get; init; } = [];
    /// <summary>Registers the service's pipeline and JSON context on the builder.</summary>
    public required Action<ServiceContext<TConfig>> Configure { get; init; }
    /// <summary>Maps the service's endpoints.</summary>
    public required Action<WebApplication, ServiceContext<TConfig>> Map { get; init; }
    /// <summary>
    /// Endpoints without declared content types take JSON under any content type from clients that are not browsers
    /// (no Origin header), as Ollama does for `curl -d`; browsers must still say application/json.
    /// </summary>
    public bool JsonUnderAnyContentType { get; init; }
    /// <summary>Models `pull` fetches when given no names (what the configured pipeline needs).</summary>
    public Func<TConfig, IEnumerable<string>>? DefaultModels { get; init; }
    /// <summary>
    /// Runs on the loaded config before the application is built and the token read (hailo-portal creates its token
    /// file here when it listens beyond loopback); a ConfigException stops the start.
    /// </summary>
    public Action<TConfig>? BeforeBuild { get; init; }
    /// <summary>Where else a request may carry the bearer token when it has no Authorization header (hailo-portal's session cookie).</summary>
    public Func<HttpRequest, string?>? AlternativeToken { get; init; }
    /// <summary>Paths besides /health open without the token (hailo-portal's page and its assets, which hold no data).</summary>
    public Func<string, bool>? PublicPath { get; init; }
    public string Version { get; init; } = typeof(ServiceDefinition<>).Assembly.GetName().Version?.ToString(3) ?? "0.0.0";
}

/// <summary>What a service's Configure and Map callbacks get to work with.</summary>
public sealed class ServiceContext<TConfig>(ServiceDefinition<TConfig> definition, TConfig config, WebApplicationBuilder builder,
    ServiceState state, ServiceMetrics metrics, ModelStore store) where TConfig : ServiceConfig
{
    public ServiceDefinition<TConfig> Definition { get; } = definition;
    public TConfig Config { get; } = config;
    public WebApplicationBuilder Builder { get; } = builder;
    public ServiceState State { get; } = state;
    public ServiceMetrics Metrics { get; } = metrics;
    public ModelStore Models { get; } = store;

    /// <summary>The command an operator runs to fetch a missing model into this service's models directory.</summary>
    public string PullCommand(string model) => ServiceHost.PullCommand(Definition.Name, Config, model);
}

/// <summary>
/// The one call every service's Main makes: command line, config, Kestrel on 127.0.0.1, systemd
/// notify/watchdog, journald logs, /health, /metrics, OpenAPI, JSON errors, body limits, auth.
/// </summary>
public static class ServiceHost
{
    public static async Task<int> MainAsync<TConfig>(string[] args, ServiceDefinition<TConfig> definition) where TConfig : ServiceConfig
    {
        CommandLine cl;
        TConfig config;
        try
        {
            cl = CommandLine.Parse(args);
            if (cl.Command == "help") { Console.Out.Write(Help(definition)); return 0; }
            if (cl.Command == "version") { Console.Out.WriteLine($"{definition.Name} {definition.Version}"); return 0; }
            config = LoadConfig(definition, cl);
        }
        catch (ConfigException e)
        {
            await Console.Error.WriteLineAsync($"{definition.Name}: {e.Message}\n(run '{definition.Name} --help' for usage)");
            return 2;
        }

        switch (cl.Command)
        {
            case "check-config":
                Console.Out.WriteLine("configuration is valid");
                return 0;
            case "print-config":
                Console.Out.Write(ConfigLoader.ToYaml(config, definition.ConfigType));
                return 0;
            case "models":
                return ListModels(definition, config);
            case "pull":
                return await PullAsync(definition, config, cl.Arguments);
        }

        // Before any native library starts its threads.
        var heap = NativeHeap.Configure();
        WebApplication built;
        try
        {
            built = Build(definition, config);
        }
        catch (ConfigException e)
        {
            // The token file changed between check and start.
            await Console.Error.WriteLineAsync($"{definition.Name}: {e.Message}");
            return 2;
        }
        await using var app = built;
        var log = app.Services.GetRequiredService<ILoggerFactory>().CreateLogger(definition.Name);
        if (heap.Length > 0) log.LogDebug("C heap: {Settings}, trimmed when idle", heap);
        try
        {
            await app.RunAsync();
            return 0;
        }
        catch (IOException e) when (e.InnerException is System.Net.Sockets.SocketException || e.Message.Contains("address", StringComparison.OrdinalIgnoreCase))
        {
            log.LogCritical("cannot listen on {Host}:{Port}: {Message}", config.Server.Host, config.Server.Port, e.Message);
            return 1;
        }
    }

    /// <summary>Config from the YAML file (--config, $PREFIX_CONFIG or /etc/hailo/&lt;name&gt;.yaml), env, then CLI.</summary>
    public static TConfig LoadConfig<TConfig>(ServiceDefinition<TConfig> definition, CommandLine cl, System.Collections.IDictionary? environment = null)
        where TConfig : ServiceConfig
    {
        var prefix = EnvPrefix(definition.Name);
        environment ??= Environment.GetEnvironmentVariables();
        var envConfig = environment[prefix + "CONFIG"] as string;
        var path = cl.ConfigPath ?? (string.IsNullOrEmpty(envConfig) ? $"/etc/hailo/{definition.Name}.yaml" : envConfig);
        var required = cl.ConfigPath is not null || !string.IsNullOrEmpty(envConfig);
        var defaults = definition.Defaults();
        if (defaults.Server.Port == 0) defaults.Server.Port = definition.DefaultPort;
        ApplyDefaults(definition.Name, defaults);
        var overrides = ConfigLoader.FromEnvironment(prefix, environment, prefix + "CONFIG").Concat(cl.Overrides);
        var config = ConfigLoader.Load(defaults, definition.ConfigType, path, required, overrides);
        ApplyDefaults(definition.Name, config);
        return config;
    }

    /// <summary>Fills the defaults that depend on the service's name.</summary>
    private static void ApplyDefaults(string name, ServiceConfig config)
    {
        config.Models.Dir = config.Models.Dir.Length == 0 ? DefaultModelsDir(name) : Path.GetFullPath(config.Models.Dir);
    }

    public static string DefaultModelsDir(string serviceName) => $"/var/lib/{serviceName}/models";

    public static string EnvPrefix(string serviceName) => serviceName.ToUpperInvariant().Replace('-', '_') + "_";

    internal static string PullCommand(string name, ServiceConfig config, string model) =>
        config.Models.Dir == DefaultModelsDir(name)
            ? $"sudo -u {name} {name} pull {model}"
            : $"{name} pull {model} --models-dir {config.Models.Dir}";

    /// <summary>Builds the web application without starting it (tests start it on port 0).</summary>
    public static WebApplication Build<TConfig>(ServiceDefinition<TConfig> definition, TConfig config,
        Action<WebApplicationBuilder>? customize = null) where TConfig : ServiceConfig
    {
        ApplyDefaults(definition.Name, config);
        definition.BeforeBuild?.Invoke(config);
        // The empty builder reads no appsettings.json and so watches no directory: the slim builder put a recursive
        // inotify watch on the working directory (hundreds of watches, and under systemd that directory is "/").
        var builder = WebApplication.CreateEmptyBuilder(new WebApplicationOptions
        {
            ApplicationName = definition.Name,
            ContentRootPath = AppContext.BaseDirectory,
            Args = [],
        });
        builder.WebHost.UseKestrelCore();
        builder.Services.AddRoutingCore();
        builder.Services.AddLogging();
        ConfigureLogging(builder.Logging, config.Logging.Level);
        builder.WebHost.ConfigureKestrel(k =>
        {
            k.AddServerHeader = false;
            var ip = config.Server.Host == "localhost" ? IPAddress.Loopback : IPAddress.Parse(config.Server.Host);
            k.Listen(ip, config.Server.Port);
            k.Limits.MaxRequestBodySize = MaxBody(config);
        });
        builder.Services.Configure<HostOptions>(o => o.ShutdownTimeout = TimeSpan.FromSeconds(config.Server.ShutdownTimeoutSeconds));
        builder.Services.Configure<Microsoft.AspNetCore.Http.Features.FormOptions>(o => o.MultipartBodyLengthLimit = MaxBody(config));

        var state = new ServiceState(definition.Name, definition.Version);
        var metrics = new ServiceMetrics(definition.Name);
        var store = new ModelStore(config.Models.Dir, config.Models.SearchPaths, definition.Catalog);
        builder.Services.AddSingleton(config);
        builder.Services.AddSingleton<ServiceConfig>(config);
        builder.Services.AddSingleton(state);
        builder.Services.AddSingleton(metrics);
        builder.Services.AddSingleton(store);
        builder.Services.AddSingleton<IErrorWriter, HailoErrorWriter>();
        var token = config.Server.ReadToken();
        builder.Services.AddSingleton(new HostPolicy(token is null ? null : System.Text.Encoding.UTF8.GetBytes(token), MaxBody(config),
            definition.JsonUnderAnyContentType) { AlternativeToken = definition.AlternativeToken, PublicPath = definition.PublicPath });
        builder.Services.AddSingleton(new BrowserGuard(config.Server));
        builder.Services.AddSingleton<SystemdNotifier>();
        builder.Services.AddSingleton(_ => new IdleTrimmer(state));
        builder.Services.AddHostedService(sp => new SystemdIntegration(sp.GetRequiredService<SystemdNotifier>(), state,
            sp.GetRequiredService<IHostApplicationLifetime>(), sp.GetRequiredService<ILogger<SystemdIntegration>>(), TimeSpan.FromMinutes(2),
            SystemdIntegration.WatchdogInterval()));
        builder.Services.ConfigureHttpJsonOptions(o => o.SerializerOptions.TypeInfoResolverChain.Insert(0, HostingJsonContext.Default));
        builder.Services.AddOpenApi(o => o.AddDocumentTransformer((doc, _, _) =>
        {
            doc.Info.Title = definition.Name;
            doc.Info.Version = definition.Version;
            doc.Info.Description = definition.Summary;
            return Task.CompletedTask;
        }));

        var context = new ServiceContext<TConfig>(definition, config, builder, state, metrics, store);
        definition.Configure(context);
        customize?.Invoke(builder);

        var app = builder.Build();
        app.Services.GetRequiredService<IdleTrimmer>();
        LogAccess(app.Services.GetRequiredService<ILoggerFactory>().CreateLogger(definition.Name), config.Server, token is not null);
        app.UseMiddleware<ErrorAndMetricsMiddleware>();
        app.UseMiddleware<BrowserPolicyMiddleware>();
        app.UseRouting();
        app.UseMiddleware<RequestPolicyMiddleware>();
        MapHostEndpoints(app, state, metrics);
        definition.Map(app, context);
        app.Lifetime.ApplicationStarted.Register(() => _ = StartupAsync(app, state));
        return app;
    }

    /// <summary>Preloads every model slot (when models.preload) and then marks start-up complete.</summary>
    private static async Task StartupAsync(WebApplication app, ServiceState state)
    {
        try
        {
            var config = app.Services.GetRequiredService<ServiceConfig>();
            if (config.Models.Preload)
                foreach (var preload in app.Services.GetServices<IPreloadable>())
                    await preload.PreloadAsync(app.Lifetime.ApplicationStopping).ConfigureAwait(false);
        }
        finally
        {
            state.CompleteStartup();
        }
    }

    private static void MapHostEndpoints(WebApplication app, ServiceState state, ServiceMetrics metrics)
    {
        app.MapGet("/health", (HttpContext http) =>
        {
            var ready = state.IsReady;
            var (reason, fix) = state.NotReadyReason();
            var models = state.Models;
            var body = new HealthResponse(
                ready ? "ok" : state.Stopping ? "stopping" : models.Any(m => m.State == ModelState.Loading) ? "loading" : "degraded",
                ready, state.ServiceName, state.Version, state.Backend, state.BackendReason,
                models.Count > 0 && models.All(m => m.State == ModelState.Ready),
                models.Select(m => new ModelHealth(m.Name, m.State.ToString().ToLowerInvariant(), m.Detail, m.Fix)).ToArray(),
                reason, fix,
                Math.Round((DateTime.UtcNow - state.StartedUtc).TotalSeconds, 1),
                Math.Round(ProcessInfo.ResidentBytes() / 1048576.0, 1),
                state.Details());
            return TypedResults.Json(body, HostingJsonContext.Default.HealthResponse, statusCode: ready ? 200 : 503);
        }).WithName("health").WithTags("health").WithSummary("Liveness and readiness: backend, models, why not ready")
          .Produces<HealthResponse>(200).Produces<HealthResponse>(503);

        app.MapGet("/health/ready", () =>
        {
            var ready = state.IsReady;
            return TypedResults.Json(new ReadyResponse(ready, state.NotReadyReason().Reason), HostingJsonContext.Default.ReadyResponse, statusCode: ready ? 200 : 503);
        }).WithName("ready").WithTags("health").WithSummary("Readiness only (earlier implementation's shape)")
          .Produces<ReadyResponse>(200).Produces<ReadyResponse>(503);

        app.MapGet("/metrics", () => TypedResults.Text(metrics.Render(state), "text/plain; version=0.0.4; charset=utf-8"))
            .WithName("metrics").WithTags("health").WithSummary("Prometheus metrics: requests, latencies, inference timings")
            .Produces<string>(200, "text/plain");

        app.MapOpenApi("/openapi/{documentName}.json");
    }

    internal static void ConfigureLogging(ILoggingBuilder logging, string level)
    {
        logging.ClearProviders();
        var underSystemd = !string.IsNullOrEmpty(Environment.GetEnvironmentVariable("JOURNAL_STREAM"))
                           || !string.IsNullOrEmpty(Environment.GetEnvironmentVariable("INVOCATION_ID"));
        if (underSystemd) logging.AddSystemdConsole(o => o.IncludeScopes = false);
        else logging.AddSimpleConsole(o => { o.SingleLine = true; o.TimestampFormat = "HH:mm:ss.fff "; });
        var min = level switch
        {
            "trace" => LogLevel.Trace, "debug" => LogLevel.Debug, "warning" => LogLevel.Warning, "error" => LogLevel.Error,
            "critical" => LogLevel.Critical, "none" => LogLevel.None, _ => LogLevel.Information,
        };
        logging.SetMinimumLevel(min);
        logging.AddFilter("Microsoft", min < LogLevel.Warning ? LogLevel.Warning : min);
        logging.AddFilter("Microsoft.Hosting.Lifetime", min);
    }

    private static long MaxBody(ServiceConfig config) => (long)(config.Server.MaxBodyMb * 1048576);

    /// <summary>Says at start who may call the service: whether a bearer token is required (never the token itself).</summary>
    private static void LogAccess(ILogger log, ServerConfig server, bool auth)
    {
        var loopback = server.Host == "localhost" || (IPAddress.TryParse(server.Host, out var ip) && IPAddress.IsLoopback(ip));
        if (auth)
            log.LogInformation("auth on: every endpoint but /health needs the bearer token from {Source}",
                server.AuthTokenFile.Length > 0 ? $"server.auth_token_file ({server.AuthTokenFile})" : "server.auth_token");
        else if (loopback)
            log.LogInformation("auth off: no server.auth_token_file or server.auth_token; only this machine can reach {Host}", server.Host);
        else
            log.LogWarning("auth off on {Host}: any client on the network may use the API; set server.auth_token_file to require a token", server.Host);
    }

    private static int ListModels<TConfig>(ServiceDefinition<TConfig> definition, TConfig config) where TConfig : ServiceConfig
    {
        var store = new ModelStore(config.Models.Dir, config.Models.SearchPaths, definition.Catalog);
        foreach (var m in definition.Catalog)
        {
            var loc = store.Locate(m);
            Console.Out.WriteLine($"{m.Name,-28} {m.Backend.Name(),-4} {(loc.Complete ? "present" : "missing"),-8} {m.Description}{(m.Verified ? "" : " [unverified: no pinned sha256]")}");
            foreach (var f in m.Files)
                Console.Out.WriteLine($"    {f.Name,-40} {(loc.Paths.TryGetValue(f.Name, out var p) ? p : "(missing)")}");
        }
        return 0;
    }

    /// <summary>How long `pull` waits for a download server to take the connection: offline it fails in seconds, not minutes.</summary>
    public static readonly TimeSpan PullConnectTimeout = TimeSpan.FromSeconds(10);

    private static async Task<int> PullAsync<TConfig>(ServiceDefinition<TConfig> definition, TConfig config, IReadOnlyList<string> names)
        where TConfig : ServiceConfig
    {
        var store = new ModelStore(config.Models.Dir, config.Models.SearchPaths, definition.Catalog);
        var wanted = names.Count > 0 ? names : definition.DefaultModels?.Invoke(config).ToList() ?? [];
        if (wanted.Count == 0)
        {
            await Console.Error.WriteLineAsync($"{definition.Name}: name a model to pull ({string.Join(", ", definition.Catalog.Select(m => m.Name))})");
            return 2;
        }
        using var http = new HttpClient(new SocketsHttpHandler { ConnectTimeout = PullConnectTimeout }) { Timeout = TimeSpan.FromMinutes(30) };
        http.DefaultRequestHeaders.UserAgent.ParseAdd($"{definition.Name}/{definition.Version}");
        var progress = new ConsoleProgress();
        foreach (var name in wanted)
        {
            var manifest = store.Get(name);
            if (manifest is null)
            {
                await Console.Error.WriteLineAsync($"{definition.Name}: unknown model '{name}' (known: {string.Join(", ", definition.Catalog.Select(m => m.Name))})");
                return 2;
            }
            try
            {
                var loc = await store.PullAsync(manifest, http, progress, CancellationToken.None);
                Console.Out.WriteLine($"{manifest.Name}: ready in {Path.GetDirectoryName(loc.Paths.Values.First())}");
            }
            catch (Exception e) when (e is HttpRequestException or InvalidDataException or IOException or UnauthorizedAccessException or InvalidOperationException or TaskCanceledException)
            {
                await Console.Error.WriteLineAsync($"{definition.Name}: pulling {manifest.Name} failed: {e.Message}");
                return 1;
            }
        }
        return 0;
    }

    private sealed class ConsoleProgress : IProgress<PullProgress>
    {
        public void Report(PullProgress p)
        {
            var pct = p.Total > 0 ? $" {100.0 * p.Completed / p.Total,5:0.0}% of {p.Total / 1048576.0:0.0} MiB" : "";
            Console.Error.WriteLine($"{p.Model}: {p.Status}{pct}");
        }
    }

    private static string Help<TConfig>(ServiceDefinition<TConfig> d) where TConfig : ServiceConfig => $"""
        {d.Name} {d.Version}: {d.Summary}

        usage: {d.Name} [command] [options]

        commands:
          run (default)     serve the HTTP API (127.0.0.1:{d.DefaultPort} unless configured)
          pull [MODEL...]   download models into the models directory (sha256-checked where the catalog pins one)
          models            list known models and where their files are
          check-config      validate the configuration and exit
          print-config      print the effective configuration as YAML

        options:
          --config PATH        YAML config (default /etc/hailo/{d.Name}.yaml, or ${EnvPrefix(d.Name)}CONFIG)
          --host ADDR          server.host        --port N         server.port
          --device auto|npu|cpu                   --models-dir DIR models.dir
          --threads N          cpu.threads        --log-level L    logging.level
          --KEY.PATH VALUE     any config key, e.g. --server.auth_token s3cret
          --set KEY.PATH=VALUE the same
        environment: {EnvPrefix(d.Name)}SECTION__KEY=value, e.g. {EnvPrefix(d.Name)}SERVER__PORT=8080
        precedence: defaults < config file < environment < command line

        """;
}

/// <summary>Something loaded at start when models.preload is on (a <see cref="ModelSlot{T}"/> wrapper).</summary>
public interface IPreloadable
{
    Task PreloadAsync(CancellationToken ct);
}
