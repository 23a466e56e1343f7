using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Metadata.Builders;
using SimService.Persistence.Entities;

namespace SimService.Persistence.Configurations;

public sealed class JournalWriteConfiguration : IEntityTypeConfiguration<JournalWrite>
{
    public void Configure(EntityTypeBuilder<JournalWrite> builder)
    {
        builder.ToTable("JournalWrites");
        builder.HasKey(w => w.Id);
        builder.Property(w => w.Id).ValueGeneratedOnAdd();
        builder.HasIndex(w => new { w.Committed, w.RunId }); // the clean-up looks for writes not committed
        builder.HasOne<SimulationRun>().WithMany().HasForeignKey(w => w.RunId).OnDelete(DeleteBehavior.Cascade);
    }
}
