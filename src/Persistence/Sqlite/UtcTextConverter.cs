using System.Globalization;
using Microsoft.EntityFrameworkCore.Storage.ValueConversion;

namespace SimService.Persistence.Sqlite;

/// <summary>
/// SQLite has no date type, and EF Core cannot compare or ORDER BY a DateTimeOffset there. A fixed-width
/// UTC ISO-8601 text sorts in the order of the instants it names and stays readable in the sqlite3 shell.
/// </summary>
public sealed class UtcTextConverter() : ValueConverter<DateTimeOffset, string>(
    value => value.UtcDateTime.ToString(Format, CultureInfo.InvariantCulture),
    text => DateTimeOffset.ParseExact(text, Format, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal))
{
    private const string Format = "yyyy-MM-dd'T'HH:mm:ss.fffffff'Z'";
}
