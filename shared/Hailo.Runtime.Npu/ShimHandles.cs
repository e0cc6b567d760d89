using System.Runtime.InteropServices;

namespace Hailo.Runtime.Npu;

// One SafeHandle type per shim handle kind. The marshaller AddRefs a handle for the duration of every call, so
// disposing it on another thread never frees it under a running call, and a call on a disposed handle throws
// ObjectDisposedException instead of reaching native code. Handles are independent: the shim keeps parents
// (VDevice, LLM) alive while their children exist, so they may be released in any order.

/// <summary>Base of the shim handle owners: 0 is invalid, release calls the matching hs_*_close/free.</summary>
internal abstract class ShimHandle() : SafeHandle(0, ownsHandle: true)
{
    public override bool IsInvalid => handle == 0;
}

internal sealed class DeviceHandle : ShimHandle
{
    protected override bool ReleaseHandle() => NativeMethods.hs_device_close(handle) == 0;
}

internal sealed class VDeviceHandle : ShimHandle
{
    protected override bool ReleaseHandle() => NativeMethods.hs_vdevice_close(handle) == 0;
}

internal sealed class ModelHandle : ShimHandle
{
    protected override bool ReleaseHandle() => NativeMethods.hs_model_unload(handle) == 0;
}

internal sealed class LlmHandle : ShimHandle
{
    protected override bool ReleaseHandle() => NativeMethods.hs_llm_destroy(handle) == 0;
}

internal sealed class VlmHandle : ShimHandle
{
    protected override bool ReleaseHandle() => NativeMethods.hs_vlm_destroy(handle) == 0;
}

internal sealed class CompletionHandle : ShimHandle
{
    protected override bool ReleaseHandle() => NativeMethods.hs_completion_free(handle) == 0;
}

internal sealed class S2tHandle : ShimHandle
{
    protected override bool ReleaseHandle() => NativeMethods.hs_s2t_destroy(handle) == 0;
}

internal sealed class SegmentsHandle : ShimHandle
{
    protected override bool ReleaseHandle() => NativeMethods.hs_segments_free(handle) == 0;
}
