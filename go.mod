module github.com/kappa-serverless/kappa

go 1.26
