"""The domain model, one module per part, re-exported here."""
from .accounts import FieldAssignment, Membership, Role, User
from .auth import LoginThrottle, SetPasswordToken, Setting, UserSession
from .base import dialect_insert, utcnow
from .editions import Edition, EditionIsImmutable
from .exports import ExportCache, ExportJob, ExportPiece
from .history import AuditEvent, Revision, RevisionKind
from .imports import ImportUpload
from .mail import MailStatus, OutgoingMail
from .notifications import Delivery, Notification, NotificationPreference
from .organisation import Organisation, OrganisationKind, Person, name_key
from .publishing import ApiToken
from .records import (
    OPEN_STEP_STATUSES,
    Direction,
    FinancingItem,
    FundingSource,
    FundingStatus,
    Indicator,
    IndicatorUnit,
    IndicatorValue,
    NextStep,
    StepStatus,
    financing_item_next_step,
    next_step_field,
    step_is_overdue,
)
from .review import ReviewComment
from .rounds import (
    ReminderKind,
    ReminderSent,
    ReportingRound,
    RoundStage,
    RoundStatus,
    RoundTask,
    StageKind,
    TaskState,
)
from .search import SearchEntry, SearchKind, SearchLayer
from .strategy import (
    Field,
    FieldPhase,
    Milestone,
    Responsibility,
    ResponsibilityRole,
    ReviewState,
    Strategy,
    Visibility,
    WorkingGroup,
    WorkingGroupMember,
)

__all__ = [
    "LoginThrottle", "MailStatus", "OutgoingMail", "Delivery", "Notification", "NotificationPreference", "SetPasswordToken", "Setting", "UserSession",
    "ApiToken", "AuditEvent", "Direction", "Field", "FieldAssignment", "FieldPhase", "FinancingItem", "FundingSource",
    "FundingStatus", "Indicator", "IndicatorUnit", "IndicatorValue", "Membership", "Milestone", "NextStep",
    "OPEN_STEP_STATUSES", "Organisation", "OrganisationKind", "Person", "Responsibility", "ResponsibilityRole", "ReviewState",
    "Revision", "RevisionKind", "Role", "StepStatus", "Strategy", "User", "Visibility", "WorkingGroup",
    "WorkingGroupMember", "Edition", "ImportUpload", "EditionIsImmutable", "ExportCache", "ExportJob", "ExportPiece", "ReviewComment", "financing_item_next_step", "name_key", "next_step_field", "step_is_overdue",
    "SearchEntry", "SearchKind", "SearchLayer",
    "utcnow", "dialect_insert", "ReminderKind", "ReminderSent", "ReportingRound", "RoundStage", "RoundStatus",
    "RoundTask", "StageKind", "TaskState",
]
