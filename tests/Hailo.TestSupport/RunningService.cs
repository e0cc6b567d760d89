using Hailo.Hosting;
using Hailo.Hosting.Config;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.DependencyInjection;

namespace Hailo.TestSupport;

/// <summary>A service built by <see cref="ServiceHost.Build{TConfig}"/> and started on a free loopback port.</summary>
public sealed class RunningService : IAsyncDisposable
{
    public WebApplication App { get; }
    public HttpClient Client { get; }
    public Uri BaseAddress { get; }

    private RunningService(WebApplication app, Uri baseAddress)
    {
        App = app;
        BaseAddress = baseAddress;
        Client = new HttpClient { BaseAddress = baseAddress, Timeout = TimeSpan.FromMinutes(2) };
    }

    public static async Task<RunningService> StartAsync<TConfig>(ServiceDefinition<TConfig> definition, TConfig config,
        Action<WebApplicationBuilder>? customize = null) where TConfig : ServiceConfig
    {
        config.Server.Port = 0;
        var app = ServiceHost.Build(definition, config, customize);
        await app.StartAsync();
        var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        return new RunningService(app, new Uri(address));
    }

    /// <summary>Waits until start-up work (model preloading) is over.</summary>
    public Task StartupCompleted => App.Services.GetRequiredService<ServiceState>().StartupCompleted;

    public async ValueTask DisposeAsync()
    {
        Client.Dispose();
        await App.StopAsync();
        await App.DisposeAsync();
    }
}
