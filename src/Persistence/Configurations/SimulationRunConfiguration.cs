using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Metadata.Builders;
using SimService.Persistence.Entities;

namespace SimService.Persistence.Configurations;

public sealed class SimulationRunConfiguration : IEntityTypeConfiguration<SimulationRun>
{
    public void Configure(EntityTypeBuilder<SimulationRun> run)
    {
        run.ToTable("Simulations");
        run.HasKey(r => r.Id);
        run.Property(r => r.Id).ValueGeneratedNever();
        run.Property(r => r.Name).HasMaxLength(SimulationRun.NameMaxLength);
        run.Property(r => r.Profile).HasMaxLength(16);
        run.Property(r => r.Version).IsConcurrencyToken();
        run.Property(r => r.TenantId).HasMaxLength(64);
        run.HasIndex(r => new { r.TenantId, r.CreatedAt });
    }
}
