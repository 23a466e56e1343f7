using System.Runtime.InteropServices;
using System.Text;
using Microsoft.Win32.SafeHandles;
using SimService.Cli.Kernel;

namespace SimService.Cli.Files;

/// <summary>What a path names, its symbolic links followed (stat(2), not lstat(2)).</summary>
public enum PathKind
{
    /// <summary>Nothing there (ENOENT), a dangling symbolic link too.</summary>
    Missing,
    Regular,
    Folder,

    /// <summary>A FIFO, a device or a socket: never read (a FIFO's open() waits for a writer, /dev/zero never ends).</summary>
    Other,

    /// <summary>The OS would not say (a loop of symbolic links, no permission on a folder on the way, …).</summary>
    Unreadable,
}

/// <summary>A path's kind; a regular file's size in bytes; for <see cref="PathKind.Other"/> what it is ("a FIFO"), for <see cref="PathKind.Unreadable"/> the OS's reason.</summary>
public readonly record struct PathStatus(PathKind Kind, long Size = 0, string? What = null);

/// <summary>
/// How the tool reads a file it was given or found (a scenario, a script, a file it looks at for one of its own reports):
/// a regular file only, and at most <see cref="MaxBytes"/> of it, so no path hangs the tool or fills its memory.
/// </summary>
public static class InputFiles
{
    /// <summary>
    /// The most bytes of a scenario or script the tool reads: 64 MiB, so the export of a simulation a server holds — which
    /// may be larger than the server's 4 MiB request-body limit (<c>HardeningSetup.DefaultMaxRequestBodyBytes</c>): 61,000
    /// commands export as 7.5 MB (tester36 MEDIUM-1) — still runs in process, as README sends it to. About 500,000
    /// commands fit; the repository's largest scenario is 30 KB. A file sent with <c>--server</c> meets the server's own limit.
    /// </summary>
    public const int MaxBytes = 64 * 1024 * 1024;

    /// <summary>"64 MiB (67108864 bytes)", for messages.</summary>
    public static string Limit => $"{MaxBytes / (1024 * 1024)} MiB ({MaxBytes} bytes)";

    /// <summary>What <paramref name="path"/> names, its symbolic links followed: statx(2) on Linux, .NET's view elsewhere (where FIFOs and devices look like files).</summary>
    public static PathStatus Status(string path)
    {
        if (!OperatingSystem.IsLinux())
            return Directory.Exists(path) ? new(PathKind.Folder) : File.Exists(path) ? new(PathKind.Regular, new FileInfo(path).Length) : new(PathKind.Missing);
        var buffer = new byte[Libc.StatxSize];
        if (Libc.statx(Libc.AT_FDCWD, path, 0, Libc.STATX_TYPE | Libc.STATX_SIZE, buffer) == 0) return StatusOf(buffer);
        int errno = Libc.Errno;
        return errno == Libc.ENOENT ? new(PathKind.Missing) : new(PathKind.Unreadable, What: Marshal.GetPInvokeErrorMessage(errno));
    }

    /// <summary>
    /// Why <paramref name="path"/>, which stat(2) says is missing, is there all the same: a name on it whose bytes are not
    /// UTF-8. .NET reads such a name with U+FFFD for each bad byte, and that name names no file, so a folder search passed
    /// <c>bad\xff.json</c> by without a word and the file named on the command line was "no such file". The one-line reason
    /// when the first missing name on the path is listed by its folder; null when the path is only missing.
    /// </summary>
    public static string? NotUtf8(string path)
    {
        if (!path.Contains('\uFFFD')) return null;
        for (var at = Path.GetFullPath(path); Path.GetDirectoryName(at) is { } folder; at = folder)
        {
            if (Status(folder).Kind == PathKind.Missing) continue;
            var name = Path.GetFileName(at);
            try
            {
                if (!name.Contains('\uFFFD') || !Directory.EnumerateFileSystemEntries(folder).Any(e => Path.GetFileName(e) == name)) return null;
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                return null;
            }
            return $"{path}: the name {name} is not valid UTF-8 (\uFFFD stands for each byte that is not): the tool opens files by UTF-8 names only; rename it";
        }
        return null;
    }

    /// <summary>
    /// True when <paramref name="a"/> and <paramref name="b"/> name one file: the same path once <c>..</c>, <c>.</c> and
    /// symbolic links are resolved, or — both existing — the same device and inode (statx(2): a hard link is another name
    /// of the file, which a resolved path does not show).
    /// </summary>
    public static bool SameFile(string a, string b) =>
        OwnReports.Resolved(a) == OwnReports.Resolved(b) || Identity(a) is { } file && Identity(b) == file;

    /// <summary>The device (major, minor) and inode of the file <paramref name="path"/> names, its symbolic links followed; null when it does not exist (or off Linux).</summary>
    static (uint Major, uint Minor, ulong Inode)? Identity(string path)
    {
        if (!OperatingSystem.IsLinux()) return null;
        var buffer = new byte[Libc.StatxSize];
        if (Libc.statx(Libc.AT_FDCWD, path, 0, Libc.STATX_INO, buffer) != 0) return null;
        var statx = buffer.AsSpan();
        return (MemoryMarshal.Read<uint>(statx[Libc.StatxDevOffset..]), MemoryMarshal.Read<uint>(statx[(Libc.StatxDevOffset + 4)..]),
            MemoryMarshal.Read<ulong>(statx[Libc.StatxInoOffset..]));
    }

    /// <summary>
    /// The text of the regular file at <paramref name="path"/> (a UTF-16 or UTF-32 byte order mark read as File.ReadAllText
    /// reads it, UTF-8 — after its optional byte order mark — otherwise); an <see cref="IOException"/> whose message is the
    /// one-line reason when it is not a regular file, cannot be read, is larger than <see cref="MaxBytes"/>, or holds bytes
    /// that are not UTF-8 (the first one named by its offset, as the API's 400 names it: never replaced by U+FFFD, which
    /// would run — or send to a server — another text than the file's).
    /// </summary>
    public static string ReadText(string path)
    {
        var head = Head(path, MaxBytes);
        if (head.Length > MaxBytes) throw new IOException(TooLarge);
        var bytes = head.AsSpan();
        if (bytes.StartsWith(Encoding.UTF8.Preamble) || !(bytes.StartsWith(Encoding.Unicode.Preamble) || bytes.StartsWith(Encoding.BigEndianUnicode.Preamble)
            || bytes.StartsWith((ReadOnlySpan<byte>)[0, 0, 0xFE, 0xFF])))
        {
            int bom = bytes.StartsWith(Encoding.UTF8.Preamble) ? Encoding.UTF8.Preamble.Length : 0;
            var text = new char[bytes.Length];
            if (System.Text.Unicode.Utf8.ToUtf16(bytes[bom..], text, out int read, out int written, replaceInvalidSequences: false) != System.Buffers.OperationStatus.Done)
                throw new IOException($"the file is not UTF-8 text: byte {bom + read} (0x{bytes[bom + read]:X2}) begins no UTF-8 character; save it in UTF-8");
            return new string(text, 0, written);
        }
        using var reader = new StreamReader(new MemoryStream(head), Encoding.UTF8, detectEncodingFromByteOrderMarks: true);
        return reader.ReadToEnd();
    }

    /// <summary>"larger than 64 MiB (67108864 bytes), the most the tool reads of a file".</summary>
    public static string TooLarge => $"larger than {Limit}, the most the tool reads of a file";

    /// <summary>
    /// The first bytes of the regular file at <paramref name="path"/>, at most <paramref name="limit"/> + 1: more than
    /// <paramref name="limit"/> means the file goes on. The file is opened without waiting (O_NONBLOCK) and its kind checked
    /// on the open descriptor, so a FIFO put in its place after <see cref="Status"/> still cannot hang the tool.
    /// </summary>
    public static byte[] Head(string path, int limit)
    {
        using var handle = OpenRegular(path);
        long length = RandomAccess.GetLength(handle);
        var buffer = new byte[(int)Math.Clamp(length + 1, 1, limit + 1L)];
        int count = 0;
        for (int read; count <= limit; count += read)
        {
            if (count == buffer.Length) Array.Resize(ref buffer, (int)Math.Min(buffer.Length * 2L, limit + 1L));
            if ((read = RandomAccess.Read(handle, buffer.AsSpan(count), count)) == 0) break;
        }
        return count == buffer.Length ? buffer : buffer[..count];
    }

    static SafeFileHandle OpenRegular(string path)
    {
        if (!OperatingSystem.IsLinux()) return File.OpenHandle(path);
        int fd = Libc.open(path, Libc.O_RDONLY | Libc.O_NONBLOCK | Libc.O_CLOEXEC);
        if (fd < 0) throw new IOException(Marshal.GetPInvokeErrorMessage(Libc.Errno));
        var handle = new SafeFileHandle(fd, ownsHandle: true);
        var buffer = new byte[Libc.StatxSize];
        var status = Libc.statx(fd, "", Libc.AT_EMPTY_PATH, Libc.STATX_TYPE, buffer) == 0
            ? StatusOf(buffer) : new(PathKind.Unreadable, What: Marshal.GetPInvokeErrorMessage(Libc.Errno));
        if (status.Kind == PathKind.Regular) return handle;
        handle.Dispose();
        throw new IOException(status.Kind switch
        {
            PathKind.Folder => "Is a directory",
            PathKind.Other => NotRegular(status.What!),
            _ => status.What!,
        });
    }

    /// <summary>"a FIFO, not a regular file: the tool reads regular files only".</summary>
    public static string NotRegular(string what) => $"{what}, not a regular file: the tool reads regular files only";

    /// <summary>stx_mode's file type (S_IFMT) and stx_size.</summary>
    static PathStatus StatusOf(byte[] statx)
    {
        int type = MemoryMarshal.Read<ushort>(statx.AsSpan(Libc.StatxModeOffset)) & 0xF000;
        return type switch
        {
            0x8000 => new(PathKind.Regular, MemoryMarshal.Read<long>(statx.AsSpan(Libc.StatxSizeOffset))),
            0x4000 => new(PathKind.Folder),
            0x1000 => new(PathKind.Other, What: "a FIFO"),
            0x2000 => new(PathKind.Other, What: "a character device"),
            0x6000 => new(PathKind.Other, What: "a block device"),
            0xC000 => new(PathKind.Other, What: "a socket"),
            _ => new(PathKind.Other, What: "not a file"),
        };
    }

    /// <summary>
    /// An IO exception's reason in the OS's words (strerror): .NET keeps errno in an IOException's HResult, but turns
    /// ENOENT into *NotFoundException and EACCES/EPERM into UnauthorizedAccessException.
    /// </summary>
    internal static string Reason(Exception e) => e switch
    {
        UnauthorizedAccessException => "Permission denied",
        FileNotFoundException or DirectoryNotFoundException => "No such file or directory",
        IOException when e.HResult is > 0 and < 4096 => Marshal.GetPInvokeErrorMessage(e.HResult),
        _ => e.Message,
    };
}
