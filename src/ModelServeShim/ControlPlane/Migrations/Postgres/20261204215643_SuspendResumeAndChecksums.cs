using Microsoft.EntityFrameworkCore.Migrations;

#nullable disable

namespace ModelServeShim.ControlPlane.Migrations.Postgres
{
    /// <inheritdoc />
    public partial class SuspendResumeAndChecksums : Migration
    {
        /// <inheritdoc />
        protected override void Up(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.AddColumn<string>(
                name: "ChecksumsJson",
                table: "model_service_desired_states",
                type: "text",
                nullable: true);

            migrationBuilder.CreateTable(
                name: "model_file_checksums",
                columns: table => new
                {
                    Path = table.Column<string>(type: "text", nullable: false),
                    Size = table.Column<long>(type: "bigint", nullable: false),
                    ModifiedNs = table.Column<long>(type: "bigint", nullable: false),
                    ChangedNs = table.Column<long>(type: "bigint", nullable: false),
                    Inode = table.Column<long>(type: "bigint", nullable: false),
                    Device = table.Column<long>(type: "bigint", nullable: false),
                    Sha256 = table.Column<string>(type: "character varying(64)", maxLength: 64, nullable: false),
                    HashedAt = table.Column<long>(type: "bigint", nullable: false)
                },
                constraints: table =>
                {
                    table.PrimaryKey("PK_model_file_checksums", x => x.Path);
                });
        }

        /// <inheritdoc />
        protected override void Down(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.DropTable(
                name: "model_file_checksums");

            migrationBuilder.DropColumn(
                name: "ChecksumsJson",
                table: "model_service_desired_states");
        }
    }
}
