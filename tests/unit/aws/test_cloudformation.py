"""How a template reaches CloudFormation: inline, through the bucket, or a clear error."""

import json

import pytest

from ansible_collections.orgiam.aws.plugins.module_utils.catalog import RoleDef

RO = RoleDef(name="ReadOnly", source="r.yml:1", managed_policies=("ReadOnlyAccess", "arn:aws:iam::aws:policy/job-function/ViewOnlyAccess"))



def test_large_templates_go_through_the_bucket_or_fail_clearly():
    from ansible_collections.orgiam.aws.plugins.module_utils.aws.cloudformation import inline_only, via_bucket
    from ansible_collections.orgiam.aws.plugins.module_utils.catalog import canonical_json as template_json
    from ansible_collections.orgiam.aws.plugins.module_utils.aws.errors import AwsAccessError

    small = template_json({"Resources": {"A": {"Type": "AWS::CloudFormation::WaitConditionHandle"}}})
    large_template = {"Resources": {f"R{i}": {"Type": "AWS::CloudFormation::WaitConditionHandle", "Metadata": "x" * 100} for i in range(600)}}
    large = template_json(large_template)
    assert "TemplateBody" in inline_only("s", small)
    with pytest.raises(AwsAccessError, match="set template_bucket in settings.yml"):
        inline_only("orgiam-identity", large)

    class FakeS3:
        def put_object(self, **kwargs):
            self.put = kwargs

    s3 = FakeS3()
    args = via_bucket(s3, "orgiam-templates", "us-east-1")("orgiam-identity", large)
    assert args["TemplateURL"].startswith("https://orgiam-templates.s3.us-east-1.amazonaws.com/orgiam/templates/orgiam-identity/")
    assert s3.put["Bucket"] == "orgiam-templates" and json.loads(s3.put["Body"]) == large_template
    assert "TemplateBody" in via_bucket(s3, "b", "us-east-1")("s", small)
