"""orgiam's local AWS endpoint: moto's server, made faithful where orgiam needs it, with a demo organization.

Modules:
    server        ``EmulatorServer``: moto behind the middleware, on a thread, on 127.0.0.1
    middleware    the WSGI layer in front of moto: ``/_orgiam/*`` paths, call recording, extensions
    call_log      the record of every AWS API call served, and how a call and its account are recognised
    account_api   ``account:PutAccountName``, which moto lacks
    iam_backend   moto's IAM backend with AWS managed policies built on first use
    cfn_iam       CloudFormation IAM resource types that really change IAM state
    cfn_secrets   ``AWS::SecretsManager::Secret`` in CloudFormation
    cfn_stacks    stack states as AWS has them: rollbacks, termination protection, template limits, ...
    sts_access    ``sts:AssumeRole`` into a role another account lacks is denied
    faults        faults for tests: throttling, lost answers, outages, denied accounts, hung or failing stacks
    org_spec      organization specs: the demo (``demo_org.yml``) and generated large ones
    organization  idempotent seeding of a spec through the AWS APIs
    aws           boto3 sessions for the emulator, apart from the user's AWS configuration
    control       HTTP helpers for a running emulator: up, ready, reset, calls, stack status, faults
    settings      default port and endpoint (``ORGIAM_EMULATOR_PORT``)
    __main__      ``python -m emulator serve|seed|wait|is-up|reset``
"""
