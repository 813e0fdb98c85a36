CREATE TABLE IF NOT EXISTS "__EFMigrationsHistory" (
    "MigrationId" TEXT NOT NULL CONSTRAINT "PK___EFMigrationsHistory" PRIMARY KEY,
    "ProductVersion" TEXT NOT NULL
);

CREATE TABLE "journal_entries" (
    "Id" INTEGER NOT NULL CONSTRAINT "PK_journal_entries" PRIMARY KEY AUTOINCREMENT,
    "InstanceId" TEXT NOT NULL,
    "Sequence" INTEGER NOT NULL,
    "Timestamp" INTEGER NOT NULL,
    "Level" TEXT NOT NULL,
    "ActivityId" TEXT NULL,
    "Attempt" INTEGER NULL,
    "Event" TEXT NOT NULL,
    "Message" TEXT NOT NULL,
    "PropertiesJson" TEXT NULL
);

CREATE TABLE "step_executions" (
    "Id" TEXT NOT NULL CONSTRAINT "PK_step_executions" PRIMARY KEY,
    "InstanceId" TEXT NOT NULL,
    "ActivityId" TEXT NOT NULL,
    "ActivityType" TEXT NOT NULL,
    "Attempt" INTEGER NOT NULL,
    "Status" TEXT NOT NULL,
    "StartedAt" INTEGER NOT NULL,
    "EndedAt" INTEGER NULL,
    "ErrorType" TEXT NULL,
    "ErrorMessage" TEXT NULL,
    "Retryable" INTEGER NULL,
    "RetryDelayMs" REAL NULL,
    "IsFinal" INTEGER NOT NULL,
    "Outcome" TEXT NULL,
    "OutputJson" TEXT NULL,
    "InputJson" TEXT NULL
);

CREATE TABLE "workflow_definitions" (
    "DefinitionId" TEXT NOT NULL,
    "Version" INTEGER NOT NULL,
    "Name" TEXT NULL,
    "Description" TEXT NULL,
    "Json" TEXT NOT NULL,
    "ContentHash" TEXT NOT NULL,
    "Source" TEXT NOT NULL,
    "CreatedBy" TEXT NOT NULL,
    "CreatedAt" INTEGER NOT NULL,
    "IsLatest" INTEGER NOT NULL,
    "IsDeleted" INTEGER NOT NULL,
    CONSTRAINT "PK_workflow_definitions" PRIMARY KEY ("DefinitionId", "Version")
);

CREATE TABLE "workflow_instances" (
    "Id" TEXT NOT NULL CONSTRAINT "PK_workflow_instances" PRIMARY KEY,
    "DefinitionId" TEXT NOT NULL,
    "DefinitionVersion" INTEGER NOT NULL,
    "Status" TEXT NOT NULL,
    "InputJson" TEXT NOT NULL,
    "OutputJson" TEXT NULL,
    "CurrentStepsJson" TEXT NOT NULL,
    "CorrelationId" TEXT NULL,
    "Operator" TEXT NOT NULL,
    "CreatedAt" INTEGER NOT NULL,
    "StartedAt" INTEGER NULL,
    "UpdatedAt" INTEGER NOT NULL,
    "FinishedAt" INTEGER NULL,
    "FaultedStep" TEXT NULL,
    "ErrorType" TEXT NULL,
    "ErrorMessage" TEXT NULL,
    "ResumeCount" INTEGER NOT NULL
);

CREATE UNIQUE INDEX "IX_journal_entries_InstanceId_Sequence" ON "journal_entries" ("InstanceId", "Sequence");

CREATE INDEX "IX_step_executions_InstanceId_ActivityId_Attempt" ON "step_executions" ("InstanceId", "ActivityId", "Attempt");

CREATE INDEX "IX_workflow_definitions_DefinitionId_IsLatest" ON "workflow_definitions" ("DefinitionId", "IsLatest");

CREATE INDEX "IX_workflow_instances_CorrelationId" ON "workflow_instances" ("CorrelationId");

CREATE INDEX "IX_workflow_instances_CreatedAt" ON "workflow_instances" ("CreatedAt");

CREATE INDEX "IX_workflow_instances_DefinitionId_CreatedAt" ON "workflow_instances" ("DefinitionId", "CreatedAt");

CREATE INDEX "IX_workflow_instances_Status" ON "workflow_instances" ("Status");

INSERT INTO "__EFMigrationsHistory" ("MigrationId", "ProductVersion")
VALUES ('20261124194845_Initial', '10.0.12');

CREATE TABLE "ef_temp_workflow_instances" (
    "Id" TEXT NOT NULL CONSTRAINT "PK_workflow_instances" PRIMARY KEY,
    "CorrelationId" TEXT NULL,
    "CreatedAt" INTEGER NOT NULL,
    "DefinitionId" TEXT NOT NULL,
    "DefinitionVersion" INTEGER NOT NULL,
    "ErrorMessage" TEXT NULL,
    "ErrorType" TEXT NULL,
    "FaultedStep" TEXT NULL,
    "FinishedAt" INTEGER NULL,
    "InputJson" TEXT NOT NULL,
    "Operator" TEXT NOT NULL,
    "OutputJson" TEXT NULL,
    "ResumeCount" INTEGER NOT NULL,
    "StartedAt" INTEGER NULL,
    "Status" TEXT NOT NULL,
    "UpdatedAt" INTEGER NOT NULL
);

INSERT INTO "ef_temp_workflow_instances" ("Id", "CorrelationId", "CreatedAt", "DefinitionId", "DefinitionVersion", "ErrorMessage", "ErrorType", "FaultedStep", "FinishedAt", "InputJson", "Operator", "OutputJson", "ResumeCount", "StartedAt", "Status", "UpdatedAt")
SELECT "Id", "CorrelationId", "CreatedAt", "DefinitionId", "DefinitionVersion", "ErrorMessage", "ErrorType", "FaultedStep", "FinishedAt", "InputJson", "Operator", "OutputJson", "ResumeCount", "StartedAt", "Status", "UpdatedAt"
FROM "workflow_instances";

PRAGMA foreign_keys = 0;

DROP TABLE "workflow_instances";

ALTER TABLE "ef_temp_workflow_instances" RENAME TO "workflow_instances";

PRAGMA foreign_keys = 1;

CREATE INDEX "IX_workflow_instances_CorrelationId" ON "workflow_instances" ("CorrelationId");

CREATE INDEX "IX_workflow_instances_CreatedAt" ON "workflow_instances" ("CreatedAt");

CREATE INDEX "IX_workflow_instances_DefinitionId_CreatedAt" ON "workflow_instances" ("DefinitionId", "CreatedAt");

CREATE INDEX "IX_workflow_instances_Status" ON "workflow_instances" ("Status");

INSERT INTO "__EFMigrationsHistory" ("MigrationId", "ProductVersion")
VALUES ('20261124201124_DropCurrentStepsJson', '10.0.12');

CREATE TABLE "workflow_bookmarks" (
    "Id" TEXT NOT NULL CONSTRAINT "PK_workflow_bookmarks" PRIMARY KEY,
    "InstanceId" TEXT NOT NULL,
    "ActivityId" TEXT NOT NULL,
    "Name" TEXT NOT NULL,
    "Description" TEXT NULL,
    "Roles" TEXT NOT NULL,
    "PayloadSchemaJson" TEXT NULL,
    "CreatedAt" INTEGER NOT NULL,
    "TimeoutAt" INTEGER NULL,
    "ResolvedAt" INTEGER NULL,
    "Resolution" TEXT NULL,
    "ResolvedBy" TEXT NULL,
    "PayloadJson" TEXT NULL
);

CREATE INDEX "IX_workflow_bookmarks_InstanceId_Name" ON "workflow_bookmarks" ("InstanceId", "Name");

CREATE INDEX "IX_workflow_bookmarks_ResolvedAt" ON "workflow_bookmarks" ("ResolvedAt");

INSERT INTO "__EFMigrationsHistory" ("MigrationId", "ProductVersion")
VALUES ('20261204203722_Bookmarks', '10.0.12');

ALTER TABLE "workflow_instances" ADD "CancelReason" TEXT NULL;

ALTER TABLE "workflow_instances" ADD "CancelRequestedBy" TEXT NULL;

ALTER TABLE "workflow_instances" ADD "Owner" TEXT NULL;

CREATE TABLE "workflow_replicas" (
    "Id" TEXT NOT NULL CONSTRAINT "PK_workflow_replicas" PRIMARY KEY,
    "Host" TEXT NOT NULL,
    "ProcessId" INTEGER NOT NULL,
    "StartedAt" INTEGER NOT NULL,
    "HeartbeatAt" INTEGER NOT NULL
);

CREATE INDEX "IX_workflow_instances_Owner_Status" ON "workflow_instances" ("Owner", "Status");

INSERT INTO "__EFMigrationsHistory" ("MigrationId", "ProductVersion")
VALUES ('20261204230605_AddReplicaLeases', '10.0.12');

