using System.Runtime.InteropServices;

namespace Hailo.Hosting.Models;

/// <summary>
/// Writes that survive a kill or a power cut whole or not at all: the data goes to a temporary name in the target's
/// directory, is flushed to disk, renamed over the target (atomic on one file system) and the directory is flushed
/// so the rename itself is on disk before anything that depends on it is written.
/// </summary>
public static partial class DurableFile
{
    /// <summary>A temporary name beside <paramref name="path"/>: hidden, unique, ending in .tmp (swept by <see cref="SweepTemporaries"/>).</summary>
    public static string TempName(string path) =>
        Path.Combine(Path.GetDirectoryName(path)!, "." + Path.GetFileName(path) + "." + Guid.NewGuid().ToString("N")[..12] + ".tmp");

    /// <summary>Writes <paramref name="text"/> to <paramref name="path"/> durably (temporary file, fsync, rename, fsync of the directory).</summary>
    public static void WriteAllText(string path, string text)
    {
        var tmp = TempName(path);
        try
        {
            using (var f = new FileStream(tmp, FileMode.CreateNew, FileAccess.Write, FileShare.None))
            {
                f.Write(System.Text.Encoding.UTF8.GetBytes(text));
                f.Flush(flushToDisk: true);
            }
            Commit(tmp, path);
        }
        finally
        {
            if (File.Exists(tmp)) File.Delete(tmp);
        }
    }

    /// <summary>Renames a finished, flushed temporary file over <paramref name="path"/> and flushes the directory.</summary>
    public static void Commit(string tmp, string path, bool overwrite = true)
    {
        File.Move(tmp, path, overwrite);
        SyncDirectory(Path.GetDirectoryName(Path.GetFullPath(path))!);
    }

    /// <summary>Deletes a file and flushes its directory, so the deletion is on disk before what follows it.</summary>
    public static void Delete(string path)
    {
        if (!File.Exists(path)) return;
        File.Delete(path);
        SyncDirectory(Path.GetDirectoryName(Path.GetFullPath(path))!);
    }

    /// <summary>fsync(2) of a directory (its entries: creations, renames, deletions). Best effort off Linux.</summary>
    public static void SyncDirectory(string dir)
    {
        if (!OperatingSystem.IsLinux() && !OperatingSystem.IsMacOS()) return;
        var fd = Open(dir, 0 /* O_RDONLY */);
        if (fd < 0) return;
        try { _ = Fsync(fd); }
        finally { _ = Close(fd); }
    }

    /// <summary>Removes temporary files a killed process left in <paramref name="dir"/> (names from <see cref="TempName"/>, and <paramref name="extra"/> patterns).</summary>
    public static int SweepTemporaries(string dir, params string[] extra)
    {
        if (!Directory.Exists(dir)) return 0;
        var n = 0;
        foreach (var pattern in (string[])[".*.tmp", .. extra])
        {
            foreach (var f in Directory.EnumerateFiles(dir, pattern))
            {
                try { File.Delete(f); n++; }
                catch (Exception e) when (e is IOException or UnauthorizedAccessException) { /* someone else's: leave it */ }
            }
        }
        return n;
    }

    [LibraryImport("libc", EntryPoint = "open", StringMarshalling = StringMarshalling.Utf8, SetLastError = true)]
    private static partial int Open(string path, int flags);

    [LibraryImport("libc", EntryPoint = "fsync", SetLastError = true)]
    private static partial int Fsync(int fd);

    [LibraryImport("libc", EntryPoint = "close")]
    private static partial int Close(int fd);
}
