using Microsoft.EntityFrameworkCore.Migrations;

#nullable disable

namespace ModelServeShim.Workflows.Persistence.Migrations.Postgres
{
    /// <inheritdoc />
    public partial class AddReplicaLeases : Migration
    {
        /// <inheritdoc />
        protected override void Up(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.AddColumn<string>(
                name: "CancelReason",
                table: "workflow_instances",
                type: "character varying(1000)",
                maxLength: 1000,
                nullable: true);

            migrationBuilder.AddColumn<string>(
                name: "CancelRequestedBy",
                table: "workflow_instances",
                type: "character varying(200)",
                maxLength: 200,
                nullable: true);

            migrationBuilder.AddColumn<string>(
                name: "Owner",
                table: "workflow_instances",
                type: "character varying(128)",
                maxLength: 128,
                nullable: true);

            migrationBuilder.CreateTable(
                name: "workflow_replicas",
                columns: table => new
                {
                    Id = table.Column<string>(type: "character varying(128)", maxLength: 128, nullable: false),
                    Host = table.Column<string>(type: "character varying(255)", maxLength: 255, nullable: false),
                    ProcessId = table.Column<int>(type: "integer", nullable: false),
                    StartedAt = table.Column<long>(type: "bigint", nullable: false),
                    HeartbeatAt = table.Column<long>(type: "bigint", nullable: false)
                },
                constraints: table =>
                {
                    table.PrimaryKey("PK_workflow_replicas", x => x.Id);
                });

            migrationBuilder.CreateIndex(
                name: "IX_workflow_instances_Owner_Status",
                table: "workflow_instances",
                columns: new[] { "Owner", "Status" });
        }

        /// <inheritdoc />
        protected override void Down(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.DropTable(
                name: "workflow_replicas");

            migrationBuilder.DropIndex(
                name: "IX_workflow_instances_Owner_Status",
                table: "workflow_instances");

            migrationBuilder.DropColumn(
                name: "CancelReason",
                table: "workflow_instances");

            migrationBuilder.DropColumn(
                name: "CancelRequestedBy",
                table: "workflow_instances");

            migrationBuilder.DropColumn(
                name: "Owner",
                table: "workflow_instances");
        }
    }
}
