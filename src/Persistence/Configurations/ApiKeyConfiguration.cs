using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Metadata.Builders;
using SimService.Persistence.Entities;

namespace SimService.Persistence.Configurations;

public sealed class ApiKeyConfiguration : IEntityTypeConfiguration<ApiKey>
{
    public void Configure(EntityTypeBuilder<ApiKey> key)
    {
        key.ToTable("ApiKeys");
        key.HasKey(k => k.Id);
        key.Property(k => k.Id).HasMaxLength(ApiKey.IdMaxLength).ValueGeneratedNever();
        key.Property(k => k.TenantId).HasMaxLength(ApiKey.TenantMaxLength);
        key.Property(k => k.Hash).HasMaxLength(32);
        key.Property(k => k.Name).HasMaxLength(ApiKey.NameMaxLength);
        key.HasIndex(k => k.TenantId);
    }
}
