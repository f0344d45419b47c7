// asl-validator ships no typings; this is the call the tests make.
declare module 'asl-validator' {
  export default function aslValidator(
    definition: object,
    options?: { checkPaths?: boolean; checkArn?: boolean },
  ): { isValid: boolean; errorsText: (separator?: string) => string };
}
