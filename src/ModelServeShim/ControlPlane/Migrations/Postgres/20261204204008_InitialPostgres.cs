using Microsoft.EntityFrameworkCore.Migrations;
using Npgsql.EntityFrameworkCore.PostgreSQL.Metadata;

#nullable disable

namespace ModelServeShim.ControlPlane.Migrations.Postgres
{
    /// <inheritdoc />
    public partial class InitialPostgres : Migration
    {
        /// <inheritdoc />
        protected override void Up(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.CreateTable(
                name: "model_service_desired_state_changes",
                columns: table => new
                {
                    Id = table.Column<long>(type: "bigint", nullable: false)
                        .Annotation("Npgsql:ValueGenerationStrategy", NpgsqlValueGenerationStrategy.IdentityByDefaultColumn),
                    ServiceId = table.Column<string>(type: "text", nullable: false),
                    Generation = table.Column<int>(type: "integer", nullable: false),
                    At = table.Column<long>(type: "bigint", nullable: false),
                    Operator = table.Column<string>(type: "text", nullable: false),
                    Change = table.Column<string>(type: "text", nullable: false),
                    StateJson = table.Column<string>(type: "text", nullable: false)
                },
                constraints: table =>
                {
                    table.PrimaryKey("PK_model_service_desired_state_changes", x => x.Id);
                });

            migrationBuilder.CreateTable(
                name: "model_service_health",
                columns: table => new
                {
                    Id = table.Column<long>(type: "bigint", nullable: false)
                        .Annotation("Npgsql:ValueGenerationStrategy", NpgsqlValueGenerationStrategy.IdentityByDefaultColumn),
                    ServiceId = table.Column<string>(type: "text", nullable: false),
                    At = table.Column<long>(type: "bigint", nullable: false),
                    Event = table.Column<string>(type: "text", nullable: false),
                    Healthy = table.Column<bool>(type: "boolean", nullable: false),
                    Phase = table.Column<string>(type: "text", nullable: false),
                    ReadyReplicas = table.Column<int>(type: "integer", nullable: false),
                    DesiredReplicas = table.Column<int>(type: "integer", nullable: false),
                    Message = table.Column<string>(type: "text", nullable: false),
                    Probes = table.Column<int>(type: "integer", nullable: false)
                },
                constraints: table =>
                {
                    table.PrimaryKey("PK_model_service_health", x => x.Id);
                });

            migrationBuilder.CreateTable(
                name: "model_service_transitions",
                columns: table => new
                {
                    Id = table.Column<long>(type: "bigint", nullable: false)
                        .Annotation("Npgsql:ValueGenerationStrategy", NpgsqlValueGenerationStrategy.IdentityByDefaultColumn),
                    ServiceId = table.Column<string>(type: "text", nullable: false),
                    At = table.Column<long>(type: "bigint", nullable: false),
                    From = table.Column<string>(type: "character varying(24)", maxLength: 24, nullable: true),
                    To = table.Column<string>(type: "character varying(24)", maxLength: 24, nullable: false),
                    Reason = table.Column<string>(type: "text", nullable: false),
                    Operator = table.Column<string>(type: "text", nullable: false)
                },
                constraints: table =>
                {
                    table.PrimaryKey("PK_model_service_transitions", x => x.Id);
                });

            migrationBuilder.CreateTable(
                name: "model_services",
                columns: table => new
                {
                    Id = table.Column<string>(type: "character varying(110)", maxLength: 110, nullable: false),
                    ModelName = table.Column<string>(type: "text", nullable: false),
                    State = table.Column<string>(type: "character varying(24)", maxLength: 24, nullable: false),
                    InstanceId = table.Column<string>(type: "text", nullable: true),
                    Operation = table.Column<string>(type: "character varying(24)", maxLength: 24, nullable: false),
                    DeployInstanceId = table.Column<string>(type: "text", nullable: true),
                    Endpoint = table.Column<string>(type: "text", nullable: true),
                    CreatedBy = table.Column<string>(type: "text", nullable: false),
                    CreatedAt = table.Column<long>(type: "bigint", nullable: false),
                    UpdatedAt = table.Column<long>(type: "bigint", nullable: false),
                    LastErrorType = table.Column<string>(type: "text", nullable: true),
                    LastError = table.Column<string>(type: "text", nullable: true),
                    LastErrorStep = table.Column<string>(type: "text", nullable: true),
                    Revision = table.Column<long>(type: "bigint", nullable: false)
                },
                constraints: table =>
                {
                    table.PrimaryKey("PK_model_services", x => x.Id);
                });

            migrationBuilder.CreateTable(
                name: "model_service_desired_states",
                columns: table => new
                {
                    ServiceId = table.Column<string>(type: "character varying(110)", maxLength: 110, nullable: false),
                    Generation = table.Column<int>(type: "integer", nullable: false),
                    ModelFile = table.Column<string>(type: "text", nullable: false),
                    ResourcesJson = table.Column<string>(type: "text", nullable: false),
                    Replicas = table.Column<int>(type: "integer", nullable: false),
                    Runtime = table.Column<string>(type: "text", nullable: true),
                    Shimlet = table.Column<string>(type: "text", nullable: false),
                    Namespace = table.Column<string>(type: "text", nullable: true),
                    LabelsJson = table.Column<string>(type: "text", nullable: true),
                    Pipeline = table.Column<string>(type: "text", nullable: false),
                    PipelineVersion = table.Column<int>(type: "integer", nullable: false),
                    QuantizationJson = table.Column<string>(type: "text", nullable: true),
                    VerifyChecksums = table.Column<bool>(type: "boolean", nullable: true),
                    DryRun = table.Column<bool>(type: "boolean", nullable: true),
                    UpdatedAt = table.Column<long>(type: "bigint", nullable: false),
                    UpdatedBy = table.Column<string>(type: "text", nullable: false)
                },
                constraints: table =>
                {
                    table.PrimaryKey("PK_model_service_desired_states", x => x.ServiceId);
                    table.ForeignKey(
                        name: "FK_model_service_desired_states_model_services_ServiceId",
                        column: x => x.ServiceId,
                        principalTable: "model_services",
                        principalColumn: "Id",
                        onDelete: ReferentialAction.Cascade);
                });

            migrationBuilder.CreateIndex(
                name: "IX_model_service_desired_state_changes_ServiceId_Id",
                table: "model_service_desired_state_changes",
                columns: new[] { "ServiceId", "Id" });

            migrationBuilder.CreateIndex(
                name: "IX_model_service_health_ServiceId_Id",
                table: "model_service_health",
                columns: new[] { "ServiceId", "Id" });

            migrationBuilder.CreateIndex(
                name: "IX_model_service_transitions_ServiceId_Id",
                table: "model_service_transitions",
                columns: new[] { "ServiceId", "Id" });

            migrationBuilder.CreateIndex(
                name: "IX_model_services_CreatedAt",
                table: "model_services",
                column: "CreatedAt");

            migrationBuilder.CreateIndex(
                name: "IX_model_services_ModelName_State",
                table: "model_services",
                columns: new[] { "ModelName", "State" });
        }

        /// <inheritdoc />
        protected override void Down(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.DropTable(
                name: "model_service_desired_state_changes");

            migrationBuilder.DropTable(
                name: "model_service_desired_states");

            migrationBuilder.DropTable(
                name: "model_service_health");

            migrationBuilder.DropTable(
                name: "model_service_transitions");

            migrationBuilder.DropTable(
                name: "model_services");
        }
    }
}
