using Hailo.Hosting.Http;
using Hailo.Management;

namespace HailoPortal;

/// <summary>
/// The portal's one connection to systemd (reconnected when the bus drops it) and what it reads through it: the
/// installed units, each unit's state, its port, and its /health.
/// </summary>
public sealed class ServiceManager(PortalConfig config) : IAsyncDisposable
{
    private readonly SemaphoreSlim _connectGate = new(1, 1);
    private SystemdClient? _systemd;
    private (long Ticks, List<string>? Names) _installed;

    public string BusAddress { get; } = config.Portal.BusAddress.Length > 0 ? config.Portal.BusAddress
        : Environment.GetEnvironmentVariable("DBUS_SYSTEM_BUS_ADDRESS") is { Length: > 0 } a ? a : SystemdClient.DefaultAddress;

    public HttpClient Http { get; } = ServiceHttp.Client(TimeSpan.FromSeconds(5), null);

    /// <summary>The connected client; a bus that cannot be reached is a 503 naming the address.</summary>
    public async Task<SystemdClient> SystemdAsync()
    {
        if (_systemd is { } s) return s;
        await _connectGate.WaitAsync();
        try
        {
            if (_systemd is { } again) return again;
            try
            {
                var client = await SystemdClient.ConnectAsync(BusAddress);
                await client.WatchJobsAsync();
                _systemd = client;
                return client;
            }
            catch (BusUnavailableException e)
            {
                throw ApiException.Unavailable("bus_unavailable", e.Message, 5);
            }
        }
        finally
        {
            _connectGate.Release();
        }
    }

    /// <summary>Runs a call on the bus; a dropped connection is closed so the next call reconnects.</summary>
    public async Task<T> OnBusAsync<T>(Func<SystemdClient, Task<T>> call)
    {
        var s = await SystemdAsync();
        try
        {
            return await call(s);
        }
        catch (Exception e) when (e is not SystemdException and not ApiException and not OperationCanceledException)
        {
            if (Interlocked.CompareExchange(ref _systemd, null, s) == s) await s.DisposeAsync();
            throw ApiException.Unavailable("bus_unavailable", $"the connection to systemd failed: {e.Message}", 5);
        }
        catch (SystemdException e) when (e.IsAccessDenied)
        {
            throw new ApiException(403, "polkit_refused",
                $"systemd refused: {e.Message}. polkit allows starting, stopping and restarting the Hailo services to members of the group " +
                $"{ServiceNames.AdminGroup}; the portal's user must be one (sudo usermod -aG {ServiceNames.AdminGroup} hailo-portal, then restart hailo-portal)");
        }
        catch (SystemdException e) when (e.ErrorName is "org.freedesktop.systemd1.NoSuchUnit")
        {
            throw new ApiException(404, "service_not_installed", $"systemd: {e.Message}");
        }
        catch (SystemdException e)
        {
            throw new ApiException(502, "systemd_error", $"systemd: {e.Message} ({e.ErrorName})");
        }
    }

    /// <summary>The installed hailo-*.service units (re-listed at most every 2 s).</summary>
    public async Task<List<string>> InstalledAsync()
    {
        var cached = _installed;
        if (cached.Names is not null && Environment.TickCount64 - cached.Ticks < 2000) return cached.Names;
        var names = await OnBusAsync(ServiceNames.InstalledAsync);
        _installed = (Environment.TickCount64, names);
        return names;
    }

    /// <summary>The service the route names, which must be installed: 400 for a name that cannot be one, 404 for one not installed.</summary>
    public async Task<string> RequireInstalledAsync(string name)
    {
        var n = name.Length <= 80 && name.All(c => c is (>= 'a' and <= 'z') or (>= '0' and <= '9') or '-' or '.') ? ServiceNames.Normalise(name) : null;
        if (n is null) throw ApiException.BadRequest("invalid_service", $"'{Hailo.Core.ClientText.Quote(name)}' is not a service name (hailo-pose, pose)", "name");
        var installed = await InstalledAsync();
        if (!installed.Contains(n))
            throw new ApiException(404, "service_not_installed", $"no service {n} is installed" +
                (installed.Count == 0 ? "" : $" (installed: {string.Join(", ", installed)})"));
        return n;
    }

    public async Task<(UnitInfo Unit, ServiceEndpoint? Endpoint)> UnitAsync(string service)
    {
        var unit = await OnBusAsync(s => s.GetUnitAsync(service + ".service"));
        return (unit, Ports.Resolve(service, unit.Environment, config.Portal.ConfigDir));
    }

    /// <summary>The service's port, or 503 when it is not running or has none.</summary>
    public async Task<ServiceEndpoint> RunningEndpointAsync(string service)
    {
        var (unit, ep) = await UnitAsync(service);
        if (unit.ActiveState != "active")
            throw ApiException.Unavailable("service_not_running", $"{service} is not running ({unit.ActiveState}); start it first", 5);
        return ep ?? throw ApiException.Unavailable("no_port", $"no port is known for {service}", 30);
    }

    public async Task<ServiceCard> CardAsync(string service, CancellationToken ct)
    {
        var (unit, ep) = await UnitAsync(service);
        int? code = null;
        HealthDoc? health = null;
        string? error = null;
        if (unit.ActiveState is "active" or "reloading" or "activating" or "deactivating")
        {
            if (ep is null) error = "no port known";
            else (code, health, error) = await ServiceHttp.HealthAsync(Http, ep, ct);
        }
        return new ServiceCard(service, unit.Name, unit.LoadState, unit.ActiveState, unit.SubState, unit.UnitFileState, unit.StatusText,
            ep?.Port, unit.MemoryBytes, unit.Restarts,
            unit.ActiveState == "active" && unit.ActiveSince is { } since ? Math.Round((DateTimeOffset.UtcNow - since).TotalSeconds, 0) : null,
            code, unit.ActiveState == "active" && code == 200, health?.Backend, health?.Models ?? [], error,
            ServiceTry.Routes.TryGetValue(service, out var t) ? t.Kind : null, ServiceHttp.PullEndpoints.ContainsKey(service));
    }

    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _systemd, null) is { } s) await s.DisposeAsync();
        Http.Dispose();
        _connectGate.Dispose();
    }
}
