using Microsoft.EntityFrameworkCore;
using SimService.Persistence.Entities;

namespace SimService.Persistence;

/// <summary>
/// The model shared by every provider. Each provider has a thin subclass with its own migrations
/// (EF Core docs: "Migrations with Multiple Providers"); handlers depend on this base type only.
/// </summary>
public abstract class SimDbContext(DbContextOptions options) : DbContext(options)
{
    public DbSet<SimulationRun> Simulations => Set<SimulationRun>();
    public DbSet<CommandRecord> Commands => Set<CommandRecord>();
    public DbSet<EventRecord> Events => Set<EventRecord>();

    /// <summary>Brings the database to the current schema; called once at start-up, never EnsureCreated.</summary>
    public virtual Task PrepareAsync(CancellationToken cancellationToken = default) =>
        Database.MigrateAsync(cancellationToken);

    protected override void OnModelCreating(ModelBuilder modelBuilder) =>
        modelBuilder.ApplyConfigurationsFromAssembly(typeof(SimDbContext).Assembly);
}
