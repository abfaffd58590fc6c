"""Research extracts: a request file in, a minimised, disclosure-checked, documented and verifiable folder out.

    request = load_request("request.yaml")
    result = build_extract(request, data_dir=..., key=..., out="extract/", secure_dir="secure/")
    verify_extract("extract/")
"""

from linkage.extract.audit import append_audit, verify_audit
from linkage.extract.manifest import VerifyResult, verify_extract
from linkage.extract.pipeline import ExtractResult, build_extract
from linkage.extract.request import EXAMPLE, Request, RequestError, load_request, parse_request

__all__ = [
    "EXAMPLE", "ExtractResult", "Request", "RequestError", "VerifyResult", "append_audit", "build_extract",
    "load_request", "parse_request", "verify_audit", "verify_extract",
]
