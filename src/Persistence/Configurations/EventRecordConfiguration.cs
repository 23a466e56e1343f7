using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Metadata.Builders;
using SimService.Persistence.Entities;

namespace SimService.Persistence.Configurations;

public sealed class EventRecordConfiguration : IEntityTypeConfiguration<EventRecord>
{
    public void Configure(EntityTypeBuilder<EventRecord> builder)
    {
        builder.ToTable("Events");
        builder.HasKey(r => new { r.RunId, r.Seq, r.WriteId });
        builder.Property(r => r.Type).HasMaxLength(64);
        builder.Property(r => r.Host).HasMaxLength(64);
        builder.HasOne<SimulationRun>().WithMany().HasForeignKey(r => r.RunId).OnDelete(DeleteBehavior.Cascade);
    }
}
