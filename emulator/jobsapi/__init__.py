"""A generic jobs API (`/jobsapi`): the platform the declarative provider is proven against."""

from emulator.jobsapi.provider import JobsApiProvider

PROVIDER = JobsApiProvider

__all__ = ["PROVIDER", "JobsApiProvider"]
