using System.Runtime.InteropServices;
using System.Text;
using Microsoft.Win32.SafeHandles;

namespace SimService.Cli.Kernel;

/// <summary>
/// The file a run keeps a machine-wide sysctl's value to restore in (<see cref="MachineSysctl.Kind.Saved"/>), in a folder
/// only its owner may use (<see cref="Folder"/>; it was /run/lock, drwxrwxrwt, where any user could plant a file at the name
/// and so refuse every run, or put back a hard link to an old one: review39a S-2). Written only as a new file of the tool's own — O_CREAT|O_EXCL|O_NOFOLLOW,
/// mode 0600, so a file or symbolic link another user planted at the name is refused, never followed — and read back only
/// when the file opened (O_NOFOLLOW, its fstat, not the path's) is a regular file of <see cref="SavedPlace.Owner"/>'s that no one
/// else may write (tester37 HIGH-1: any local user could plant a value the next root kernel run wrote into tcp_mem).
/// </summary>
internal static class SavedValue
{
    /// <summary>
    /// Makes <paramref name="place"/>'s folder if it is missing (mkdir, mode 0700) and checks the one there, not following a
    /// symbolic link: a folder of <see cref="SavedPlace.Owner"/>'s that no group or other user may read, write or enter. Null,
    /// or why it is not used. Its parent (/run) is root's alone, so the folder checked is the one the files are then opened in.
    /// With no other user able to make, link or remove a name in it, the checks <see cref="Read"/> makes of each file are belt
    /// and braces; the number of names in particular holds only when it is read.
    /// </summary>
    public static string? Folder(SavedPlace place)
    {
        if (Libc.mkdir(place.Folder, 0b111_000_000) != 0 && Libc.Errno is var made && made != Libc.EEXIST)
            return Marshal.GetPInvokeErrorMessage(made);
        var statx = new byte[Libc.StatxSize];
        if (Libc.statx(Libc.AT_FDCWD, place.Folder, Libc.AT_SYMLINK_NOFOLLOW, Libc.STATX_TYPE | Libc.STATX_MODE | Libc.STATX_UID, statx) != 0)
            return Marshal.GetPInvokeErrorMessage(Libc.Errno);
        int mode = MemoryMarshal.Read<ushort>(statx.AsSpan(Libc.StatxModeOffset));
        uint uid = MemoryMarshal.Read<uint>(statx.AsSpan(Libc.StatxUidOffset));
        return (mode & 0xF000) switch
        {
            0xA000 => "it is a symbolic link",
            not 0x4000 => "it is not a folder",
            _ when uid != place.Owner => $"it is owned by uid {uid}, not {Whose(place.Owner)}",
            _ when (mode & 0b000_111_111) != 0 => $"others may use it (mode {Convert.ToString(mode & 0xFFF, 8)}, not 700)",
            _ => null,
        };
    }

    /// <summary>Whether a name is at <paramref name="path"/> (of any type; a symbolic link is not followed).</summary>
    public static bool Exists(string path) =>
        Libc.statx(Libc.AT_FDCWD, path, Libc.AT_SYMLINK_NOFOLLOW, Libc.STATX_TYPE, new byte[Libc.StatxSize]) == 0;

    internal static string Whose(uint owner) => owner == 0 ? "root" : $"uid {owner}";

    /// <summary>
    /// Creates <paramref name="path"/> holding the whole of <paramref name="text"/>; null, or why it was not created. A write
    /// that fails (ENOSPC, EIO) removes the file it made: left empty or cut short, the next run took it for a killed run's
    /// and deleted or refused it, and this run went on to set the sysctl with no value kept to restore (review37b N-3).
    /// <paramref name="write"/> writes the bytes (a test's fails).
    /// </summary>
    public static string? Create(string path, string text, Action<SafeFileHandle, byte[]>? write = null)
    {
        int fd = Libc.open_mode(path, Libc.O_WRONLY | Libc.O_CREAT | Libc.O_EXCL | Libc.O_NOFOLLOW | Libc.O_CLOEXEC, 0b110_000_000);
        if (fd < 0)
        {
            int errno = Libc.Errno;
            return errno == Libc.EEXIST ? "a file is already there that no restore took (see the line above, if any): if it holds the machine's own value, write that back by hand, then remove it"
                : Marshal.GetPInvokeErrorMessage(errno);
        }
        string failed;
        using (var handle = new SafeFileHandle(fd, ownsHandle: true))
        {
            try
            {
                (write ?? WriteAll)(handle, Encoding.ASCII.GetBytes(text));
                return null;
            }
            catch (IOException e)
            {
                failed = e.Message;
            }
        }
        // The delete can fail too (review38a N-2: it threw past the run's own refusal): the file is then named, to remove by hand.
        return Remove(path) is { } kept
            ? $"writing it failed: {failed}; removing the file failed too ({kept}): remove {path} by hand"
            : $"writing it failed: {failed}; the file is removed";
    }

    /// <summary>Deletes <paramref name="path"/>; null, or why it could not be deleted (a delete throws on EIO, EROFS, EISDIR).</summary>
    public static string? Remove(string path)
    {
        try
        {
            File.Delete(path);
            return null;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return e.Message;
        }
    }

    /// <summary>Every byte at the file's start (RandomAccess.Write writes until all are written, or throws).</summary>
    static void WriteAll(SafeFileHandle handle, byte[] bytes) => RandomAccess.Write(handle, bytes, 0);

    /// <summary>
    /// The text of <paramref name="path"/> (null when there is no such file), or why it is not trusted: a symbolic link, not
    /// a regular file, not <paramref name="owner"/>'s, writable by others, more than one name, or longer than a kept value.
    /// </summary>
    public static (string? Text, string? Distrust) Read(string path, uint owner)
    {
        int fd = Libc.open(path, Libc.O_RDONLY | Libc.O_NOFOLLOW | Libc.O_NONBLOCK | Libc.O_CLOEXEC);
        if (fd < 0)
        {
            int errno = Libc.Errno;
            return errno switch
            {
                Libc.ENOENT => (null, null),
                Libc.ELOOP => (null, "it is a symbolic link"),
                _ => (null, Marshal.GetPInvokeErrorMessage(errno)),
            };
        }
        using var handle = new SafeFileHandle(fd, ownsHandle: true);
        var statx = new byte[Libc.StatxSize];
        if (Libc.statx(fd, "", Libc.AT_EMPTY_PATH, Libc.STATX_TYPE | Libc.STATX_MODE | Libc.STATX_NLINK | Libc.STATX_UID | Libc.STATX_SIZE, statx) != 0)
            return (null, Marshal.GetPInvokeErrorMessage(Libc.Errno));
        int mode = MemoryMarshal.Read<ushort>(statx.AsSpan(Libc.StatxModeOffset));
        uint uid = MemoryMarshal.Read<uint>(statx.AsSpan(Libc.StatxUidOffset)), links = MemoryMarshal.Read<uint>(statx.AsSpan(Libc.StatxNlinkOffset));
        long size = MemoryMarshal.Read<long>(statx.AsSpan(Libc.StatxSizeOffset));
        if ((mode & 0xF000) != 0x8000) return (null, "it is not a regular file");
        if (uid != owner) return (null, $"it is owned by uid {uid}, not {Whose(owner)}");
        if ((mode & 0b000_010_010) != 0) return (null, $"others may write it (mode {Convert.ToString(mode & 0b111_111_111, 8)})");
        // A hard link to it, made by anyone who may read the folder (protected_hardlinks aside), is a name another user may
        // later write through or remove and put back: as a symbolic link, not trusted (review38a S-2). Create makes one name.
        if (links != 1) return (null, $"it has {links} names (hard links), not one");
        var bytes = new byte[MaxBytes];
        if (size > MaxBytes) return (null, $"it is {size} bytes long, more than a kept value's {MaxBytes}");
        int count = RandomAccess.Read(handle, bytes, 0);
        return (Encoding.ASCII.GetString(bytes, 0, count), null);
    }

    /// <summary>The most a kept value's file holds (a process id, a start time, a sysctl's name and its value: under 100).</summary>
    const int MaxBytes = 256;
}

/// <summary>
/// Where the saved values are kept and whose their files must be: the machine's (<see cref="Machine"/>); a test passes a
/// place of its own instead of changing a process-wide setting that a kernel run on another test's thread would read
/// (review37b N-2).
/// </summary>
internal sealed record SavedPlace(string Folder, uint Owner, string? OlderFolder = null)
{
    /// <summary>
    /// /run/simservice-kernel, root's (as whom kernel runs) and root's alone: mode 0700 (<see cref="SavedValue.Folder"/>).
    /// Builds before session 40 kept the values in /run/lock (<see cref="OlderFolder"/>), where they are named, never read.
    /// </summary>
    public static readonly SavedPlace Machine = new("/run/simservice-kernel", 0, "/run/lock");
}
