using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Design;

namespace SimService.Persistence.Postgres;

/// <summary>The multi-instance store: several API replicas on one PostgreSQL database.</summary>
public sealed class PostgresSimDbContext(DbContextOptions<PostgresSimDbContext> options) : SimDbContext(options)
{
    public static void Configure(DbContextOptionsBuilder options, string connectionString) =>
        options.UseNpgsql(connectionString);
}

/// <summary>Used by <c>dotnet ef</c> only; it never opens the database when adding a migration.</summary>
public sealed class PostgresDesignTimeFactory : IDesignTimeDbContextFactory<PostgresSimDbContext>
{
    public PostgresSimDbContext CreateDbContext(string[] args)
    {
        var options = new DbContextOptionsBuilder<PostgresSimDbContext>();
        PostgresSimDbContext.Configure(options, "Host=localhost;Database=simservice;Username=postgres");
        return new PostgresSimDbContext(options.Options);
    }
}
