namespace Hailo.Runtime.Npu;

/// <summary>Status codes of the shim: HailoRT's hailo_status values (passed through) and shim codes ≥ 1000.</summary>
/// <remarks>Any other HailoRT value can appear too; <see cref="NpuRuntime.StatusName"/> names every one.</remarks>
public enum HailoStatus
{
    Success = 0,
    InvalidArgument = 2,
    OutOfHostMemory = 3,
    Timeout = 4,
    InvalidOperation = 6,
    NotImplemented = 7,
    InternalFailure = 8,
    OpenFileFailure = 13,
    InvalidHef = 26,
    NotFound = 61,
    CommunicationClosed = 62,
    OutOfFwMemory = 71,
    DeviceInUse = 73,
    OutOfPhysicalDevices = 74,
    NotSupported = 79,
    HefNotCompatibleWithDevice = 93,
    OperationAborted = 95,
    DeviceNotConnected = 96,
    NoBackend = 1000,
    BufferTooSmall = 1001,
    VersionMismatch = 1002,
    CppException = 1003,
}

/// <summary>A failed shim call: numeric status, its HailoRT name and the shim's message for the calling thread.</summary>
public sealed class HailoException : Exception
{
    public HailoException(int status, string statusName, string shimMessage)
        : base($"{statusName}({status}): {(shimMessage.Length > 0 ? shimMessage : "(no message from the shim)")}")
    {
        Status = status;
        StatusName = statusName;
        ShimMessage = shimMessage;
    }

    /// <summary>The raw status value.</summary>
    public int Status { get; }

    /// <summary>The status as the enum (values outside it are still valid HailoRT statuses).</summary>
    public HailoStatus Code => (HailoStatus)Status;

    /// <summary>HailoRT's spelling, e.g. "HAILO_OUT_OF_PHYSICAL_DEVICES".</summary>
    public string StatusName { get; }

    /// <summary>hs_last_error() right after the failing call ("" if the shim gave none).</summary>
    public string ShimMessage { get; }

    /// <summary>
    /// True when the device itself is unreachable or unresponsive (lost, communication closed, not connected,
    /// no device, timeout): a service should report the NPU unhealthy rather than blame the request.
    /// </summary>
    public bool IsDeviceFault => IsDeviceFaultStatus(Status);

    /// <summary>True for statuses a caller may simply retry (a timeout leaves completions and models usable).</summary>
    public bool IsRetryable => Status == (int)HailoStatus.Timeout;

    /// <summary>See <see cref="IsDeviceFault"/>.</summary>
    public static bool IsDeviceFaultStatus(int status) => (HailoStatus)status is
        HailoStatus.CommunicationClosed or HailoStatus.DeviceNotConnected or HailoStatus.OutOfPhysicalDevices or HailoStatus.Timeout;
}

/// <summary>The NPU cannot be used in this process: library missing, ABI or HailoRT version mismatch, no backend.</summary>
public sealed class NpuUnavailableException(string reason) : Exception("Hailo NPU unavailable: " + reason)
{
    /// <summary>Why, in one sentence, for logs and health endpoints.</summary>
    public string Reason { get; } = reason;
}
