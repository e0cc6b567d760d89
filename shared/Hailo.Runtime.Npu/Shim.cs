using System.Runtime.InteropServices;
using System.Text;

namespace Hailo.Runtime.Npu;

/// <summary>Status checking and string helpers shared by the wrappers.</summary>
internal static unsafe class Shim
{
    public static void Check(int status)
    {
        if (status != 0) throw Error(status);
    }

    /// <summary>
    /// Builds the exception for a failed call. Must run on the calling thread right after the call: hs_last_error
    /// is per thread and valid until that thread's next hs_ call, so it is copied before hs_status_name.
    /// </summary>
    public static HailoException Error(int status)
    {
        var message = Utf8(NativeMethods.hs_last_error());
        return new HailoException(status, StatusName(status), message);
    }

    /// <summary>Reads the error first (no hs_ call in between), then disposes the never-valid out handle.</summary>
    public static HailoException ErrorDisposing(int status, SafeHandle handle)
    {
        var e = Error(status);
        handle.Dispose();
        return e;
    }

    public static string StatusName(int status) => Utf8(NativeMethods.hs_status_name(status));

    public static string Utf8(byte* p) => p == null ? "" : Marshal.PtrToStringUTF8((nint)p) ?? "";

    /// <summary>Calls a (buf, cap, *len) string getter twice at most: once with a guess, once with the exact size.</summary>
    public static string ReadString(Func<nint, nuint, nint, int> call)
    {
        var cap = 1024;
        while (true)
        {
            var buf = new byte[cap];
            nuint len = 0;
            int st;
            fixed (byte* p = buf) st = call((nint)p, (nuint)cap, (nint)(&len));
            if (st == (int)HailoStatus.BufferTooSmall && len + 1 > (nuint)cap)
            {
                cap = checked((int)len + 1);
                continue;
            }
            Check(st);
            return Encoding.UTF8.GetString(buf, 0, (int)len);
        }
    }

    /// <summary>Converts a timeout to the shim's milliseconds: null = shim default (10 s), InfiniteTimeSpan = forever.</summary>
    public static uint TimeoutMs(TimeSpan? timeout)
    {
        if (timeout is not { } t) return 0; // HS_TIMEOUT_DEFAULT
        if (t == Timeout.InfiniteTimeSpan) return uint.MaxValue;
        if (t <= TimeSpan.Zero) throw new ArgumentOutOfRangeException(nameof(timeout), t, "a timeout must be positive or Timeout.InfiniteTimeSpan");
        // 0 would mean "default" to the shim and 0xFFFFFFFF "infinite", so clamp in between.
        return (uint)Math.Clamp(Math.Ceiling(t.TotalMilliseconds), 1, uint.MaxValue - 1);
    }
}
