using Xunit;

namespace Hailo.Hosting.Tests;

/// <summary>
/// <see cref="ModelSlot{T}.Unloaded"/>: whatever a model ran on (the NPU device its owner opened) is released after the
/// model, both when a backend fault drops it and when the slot is disposed.
/// </summary>
public sealed class ModelSlotUnloadTests
{
    private static ModelSlot<FakeModel> Slot(List<string> events) => new("fake", _ => new FakeModel(), new ServiceState("hailo-test", "1.0.0"),
        concurrency: 1, maxQueued: 4)
    {
        BackendFault = e => e is IOException ? "device lost" : null,
        Unloaded = m => events.Add(m.Disposed ? "released after dispose" : "released before dispose"),
    };

    [Fact]
    public async Task A_backend_fault_disposes_the_model_then_releases_what_it_ran_on()
    {
        var events = new List<string>();
        using var slot = Slot(events);
        await Assert.ThrowsAnyAsync<Exception>(() => slot.RunAsync<int>(_ => throw new IOException("device lost"), CancellationToken.None));
        Assert.Equal(["released after dispose"], events);
        Assert.False(slot.IsLoaded);
    }

    [Fact]
    public async Task Disposing_the_slot_releases_the_loaded_model_once()
    {
        var events = new List<string>();
        var slot = Slot(events);
        Assert.Equal(1, await slot.RunAsync(_ => 1, CancellationToken.None));
        slot.Dispose();
        slot.Dispose();
        Assert.Equal(["released after dispose"], events);
    }

    [Fact]
    public void A_slot_that_never_loaded_releases_nothing()
    {
        var events = new List<string>();
        Slot(events).Dispose();
        Assert.Empty(events);
    }
}
