# SimService API image: build with the SDK, run on the ASP.NET runtime as the image's non-root user.
FROM mcr.microsoft.com/dotnet/sdk:10.0 AS build
WORKDIR /src
COPY global.json Directory.Build.props Directory.Packages.props ./
COPY src/Domain/Domain.csproj src/Domain/
COPY src/Persistence/Persistence.csproj src/Persistence/
COPY src/Api/Api.csproj src/Api/
COPY src/EngineGc.props src/
RUN dotnet restore src/Api/Api.csproj
COPY src/ src/
RUN dotnet publish src/Api/Api.csproj --configuration Release --no-restore --output /app

FROM mcr.microsoft.com/dotnet/aspnet:10.0
WORKDIR /app
COPY --from=build /app .
# The SQLite default writes data/ beside the binaries; compose uses PostgreSQL instead.
RUN mkdir data && chown "$APP_UID" data
USER $APP_UID
ENV ASPNETCORE_HTTP_PORTS=8080
# The framework's methods are JIT-compiled (fully optimized: the API turns tiered compilation off) instead of run from
# their precompiled ReadyToRun code, which is compiled for any x64 CPU and without cross-assembly inlining: about
# 30 % less CPU per durable command (W4), for about 2 s more CPU at start-up and 0.2-0.3 s more on the first
# rebuild after a restart (README, W4). The runtime reads this setting from the environment only.
ENV DOTNET_ReadyToRun=0
EXPOSE 8080
ENTRYPOINT ["dotnet", "SimService.Api.dll"]
