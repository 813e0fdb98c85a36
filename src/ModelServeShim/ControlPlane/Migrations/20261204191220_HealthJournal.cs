using Microsoft.EntityFrameworkCore.Migrations;

#nullable disable

namespace ModelServeShim.ControlPlane.Migrations
{
    /// <inheritdoc />
    public partial class HealthJournal : Migration
    {
        /// <inheritdoc />
        protected override void Up(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.CreateTable(
                name: "model_service_health",
                columns: table => new
                {
                    Id = table.Column<long>(type: "INTEGER", nullable: false)
                        .Annotation("Sqlite:Autoincrement", true),
                    ServiceId = table.Column<string>(type: "TEXT", nullable: false),
                    At = table.Column<long>(type: "INTEGER", nullable: false),
                    Event = table.Column<string>(type: "TEXT", nullable: false),
                    Healthy = table.Column<bool>(type: "INTEGER", nullable: false),
                    Phase = table.Column<string>(type: "TEXT", nullable: false),
                    ReadyReplicas = table.Column<int>(type: "INTEGER", nullable: false),
                    DesiredReplicas = table.Column<int>(type: "INTEGER", nullable: false),
                    Message = table.Column<string>(type: "TEXT", nullable: false),
                    Probes = table.Column<int>(type: "INTEGER", nullable: false)
                },
                constraints: table =>
                {
                    table.PrimaryKey("PK_model_service_health", x => x.Id);
                });

            migrationBuilder.CreateIndex(
                name: "IX_model_service_health_ServiceId_Id",
                table: "model_service_health",
                columns: new[] { "ServiceId", "Id" });
        }

        /// <inheritdoc />
        protected override void Down(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.DropTable(
                name: "model_service_health");
        }
    }
}
