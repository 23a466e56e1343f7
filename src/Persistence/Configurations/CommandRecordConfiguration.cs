using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Metadata.Builders;
using SimService.Persistence.Entities;

namespace SimService.Persistence.Configurations;

public sealed class CommandRecordConfiguration : IEntityTypeConfiguration<CommandRecord>
{
    public void Configure(EntityTypeBuilder<CommandRecord> builder)
    {
        builder.ToTable("Commands");
        builder.HasKey(r => new { r.RunId, r.Seq });
        builder.Property(r => r.Type).HasMaxLength(64);
        builder.HasOne<SimulationRun>().WithMany().HasForeignKey(r => r.RunId).OnDelete(DeleteBehavior.Cascade);
    }
}
